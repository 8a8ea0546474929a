"""NumPy modules generated from the shipped model files by `gradproof generate` (one per model)."""
