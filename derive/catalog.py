"""The models' names, importable without SymPy, so the CLI can validate arguments and hit
the cache before paying for the SymPy import.  derive.models.MODELS has the same keys."""

MODEL_NAMES = ("naive-softmax", "neg-sampling", "window")
