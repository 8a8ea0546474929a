"""The shipped model files (*.toml in this folder), as loaders by name.

``MODELS[name]()`` returns the model read from derive/models/<name>.toml (derive.model.Model:
its claims carry model, name, label/equation and statement).  The files are the models; this
module only finds them.
"""
from __future__ import annotations

from functools import cache, partial

from ..catalog import names


@cache
def _load(name: str):
    from ..model import load

    return load(name)


MODELS = {name: partial(_load, name) for name in names()}
