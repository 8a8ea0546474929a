"""derive: the symbolic stage of gradproof (SymPy models, dimension-generic proofs, code generation)."""
