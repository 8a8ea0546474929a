"""A notation: the symbols of a derivation, their roles and shapes, and definitions.

Read from TOML (or a front-matter block): sizes, index values, matrices with named
columns, one-hot vectors, and definitions written in LaTeX.  The rules are generic; the
skip-gram exercise's notation ships in notations/skipgram.toml.

A model file (derive/models/*.toml, read by derive.spec) is a notation too: its inputs
become the symbols (a matrix with its column letter, a vector, an index value, an index
array), a definition that is a one-hot vector (onehot(o) in LaTeX) a one-hot symbol, and its
other definitions the notation's definitions.
"""
from __future__ import annotations

from . import toml
import re
from dataclasses import dataclass, field
from pathlib import Path

SHIPPED = Path(__file__).with_name("notations")


class NotationError(Exception):
    pass


@dataclass(frozen=True)
class Symbol:
    name: str
    role: str  # matrix, vector, onehot, scalar
    shape: tuple[str, ...] = ()
    column: str | None = None  # the letter of a matrix's columns (u for U)
    entry: str = "row-first"  # how a column letter's two subscripts read: u_{ij} = U[i, j]
    at: str | None = None  # onehot: the index value of its one


@dataclass(frozen=True)
class Notation:
    sizes: dict[str, int]
    size_aliases: dict[str, str]
    indices: dict[str, str]  # index value name -> the size it ranges over
    symbols: dict[str, Symbol]
    definitions: dict[str, str] = field(default_factory=dict)  # name -> LaTeX, in order
    calls: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, tuple[str, str]] = field(default_factory=dict)  # w -> (its length, the range of its values)

    def size(self, name: str) -> int | None:
        name = self.size_aliases.get(name, name)
        return self.sizes.get(name)

    def names(self) -> frozenset[str]:
        """Multi-letter names the tokenizer must keep whole."""
        return frozenset(n for n in list(self.symbols) + list(self.definitions) if len(n) > 1)


def load(path: str | Path | None = None) -> Notation:
    file = Path(path) if path else SHIPPED / "skipgram.toml"
    try:
        data, _ = toml.read(file)
    except toml.TomlFileError as e:
        raise NotationError(str(e)) from None
    return from_dict(data, str(file))


def from_dict(data: dict, where: str = "notation") -> Notation:
    if "inputs" in data and "symbols" not in data:
        return from_model(data, where)
    try:
        sizes_table = dict(data.get("sizes", {}))
        aliases = dict(sizes_table.pop("aliases", {}))
        sizes = {k: int(v) for k, v in sizes_table.items()}
        symbols = {}
        for name, spec in data.get("symbols", {}).items():
            shape = tuple(spec.get("shape", ())) or ((spec["size"],) if "size" in spec else ())
            symbols[name] = Symbol(name, spec["role"], shape, spec.get("column"), spec.get("entry", "row-first"),
                                   spec.get("at"))
    except KeyError as e:
        raise NotationError(f"{where}: a symbol lacks its {e} (each [symbols.NAME] table has role and shape)") from None
    except (AttributeError, TypeError, ValueError):
        raise NotationError(f"{where}: [sizes] maps names to integers and each [symbols.NAME] is a table "
                            "with role and shape") from None
    for s in symbols.values():
        unknown = [d for d in s.shape if d not in sizes]
        if unknown:
            raise NotationError(f"{where}: symbol {s.name} has an undeclared size {unknown[0]}")
    try:
        arrays = {k: (v["size"], v["values"]) for k, v in data.get("arrays", {}).items()}
    except (KeyError, TypeError) as e:
        raise NotationError(f"{where}: an array needs size and values: {e}") from None
    return Notation(sizes, aliases, dict(data.get("indices", {})), symbols, dict(data.get("definitions", {})),
                    dict(data.get("calls", {})), arrays)


_ONE_HOT = re.compile(r"^\s*\\(?:mathrm|operatorname|text)\s*\{\s*onehot\s*\}\s*\(\s*([A-Za-z]\w*)\s*\)\s*$")


def from_model(data: dict, where: str = "model") -> Notation:
    """The notation of a model file: its inputs as symbols, its definitions as definitions."""
    from .spec import SpecError, from_dict as spec_from_dict

    try:
        spec = spec_from_dict(data, where)
    except SpecError as e:
        raise NotationError(str(e)) from None
    indices, arrays, symbols = {}, {}, {}
    for name, inp in spec.inputs.items():
        dims = tuple(str(d) for d in inp.shape)
        if inp.role == "index":
            if not dims:
                indices[name] = str(inp.range)
            elif len(dims) == 1:
                arrays[name] = (dims[0], str(inp.range))
            continue
        if inp.role == "scalar" or not dims:
            symbols[name] = Symbol(name, "scalar")
        elif len(dims) == 1:
            symbols[name] = Symbol(name, "vector", dims)
        elif len(dims) == 2:
            symbols[name] = Symbol(name, "matrix", dims, inp.column)
    definitions = {}
    for d in spec.definitions:
        hot = _ONE_HOT.match(d.latex)
        if hot and hot.group(1) in indices:
            symbols[d.name] = Symbol(d.name, "onehot", (indices[hot.group(1)],), at=hot.group(1))
        else:
            definitions[d.name] = d.latex
    aliases = dict(data.get("sizes", {}).get("aliases", {})) if isinstance(data.get("sizes"), dict) else {}
    return Notation(dict(spec.sizes), aliases, indices, symbols, definitions, dict(data.get("calls", {})), arrays)
