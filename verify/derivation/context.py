"""What a derivation's symbols mean: the notation a check runs under.

It is assembled from three places, in this order of authority: a notation or model file the
user names (or a document's front matter), a shipped notation the user names or gradproof
detects (saying why), and the document itself: its definitions ("where $\\sigma(x) = ...$",
"$\\hat{y} = \\mathrm{softmax}(\\theta)$", "J = ...") and the shapes its expressions imply.  Every
entry remembers where it came from, so the report can print what was inferred.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from gradproof.derive.notation import Notation


@dataclass(frozen=True)
class Array:
    """A vector or matrix whose entries are variables."""
    name: str
    rows: str  # a size name, or "1"
    cols: str
    why: str = ""


@dataclass(frozen=True)
class Family:
    """u_w is column w of U (axis "column"), row w of a matrix with rows (axis "row")."""
    letter: str
    matrix: str
    axis: str = "column"
    entry: str = "row-first"  # how a family letter's two subscripts read: u_{ij} = U[i, j]
    why: str = ""


@dataclass(frozen=True)
class Definition:
    name: str
    latex: str
    kind: str = "value"  # value, component (a_j = ...), function (f(x) = ...), call (P(O=o|C=c) = ...)
    params: tuple[str, ...] = ()  # a function's parameters, a component definition's index letters
    position: int = -1  # offset in the document; -1: from a notation, in force everywhere
    line: int = 0
    origin: str = "document"  # document, notation, shipped, borrowed (one call from a detected notation)
    condition: tuple | None = None  # a piece of a piecewise definition: y_w = 1 for w = o


@dataclass(frozen=True)
class IndexArray:
    """w_k: the k-th entry of an index array (negative samples), K entries over the vocabulary."""
    name: str
    length: str
    values: str


@dataclass
class Context:
    sizes: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # another name of a size: V -> W, Vocab -> W
    arrays: dict[str, Array] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)
    scalars: set[str] = field(default_factory=set)  # free scalar variables
    definitions: dict[str, list[Definition]] = field(default_factory=dict)
    calls: dict[str, list[Definition]] = field(default_factory=dict)  # P(O|C) = ... keyed by the bare call
    particular: dict[str, str] = field(default_factory=dict)  # index values (c, o) -> the size they range over
    onehots: dict[str, str | None] = field(default_factory=dict)  # one-hot vector -> index of its one
    index_arrays: dict[str, IndexArray] = field(default_factory=dict)
    named_entries: set[str] = field(default_factory=set)  # W_1, b_2: a number in the subscript is part of the name
    dependent: set[str] = field(default_factory=set)  # undefined quantities the document differentiates
    anchored: set[str] = field(default_factory=set)  # symbols that take part in the document's model
    einstein: bool = False
    distinct_samples: bool = True  # sampled indices differ from each other and from the particular ones
    names: set[str] = field(default_factory=set)  # multi-letter names the tokenizer keeps whole
    macros: dict = field(default_factory=dict)  # the document's own macros, expanded before parsing
    tokens: frozenset[str] | None = None
    letter_bounds: dict[str, str] = field(default_factory=dict)  # k -> K: a free k runs as far as the sums over k
    orientation: dict[str, str] = field(default_factory=dict)  # "$\\tilde{y}$: ..., row vector": row or column
    totals: dict[str, str] = field(default_factory=dict)  # L -> "sum": the prose says the bare L is the sum of the L_i
    ahead: bool = False  # a use before a name's only definition reads that definition (a retry, "holds" only)
    notes: list[str] = field(default_factory=list)  # what was taken from where, for the report
    source: str = "the document"

    def size(self, name: str) -> int | None:
        seen = set()
        while name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        return self.sizes.get(name)

    def samples(self) -> int | None:
        """K, the number of sampled indices (negative samples), when the document has such samples:
        a K that is no array's length (K classes, a K x N matrix, are no samples)."""
        if "K" not in self.sizes or "K" in self.aliases:
            return None
        if any("K" in (a.rows, a.cols) for a in self.arrays.values()):
            return None
        return self.sizes["K"] or None

    def definition(self, name: str, position: int) -> Definition | None:
        """The definition of name in force at position: the last one made before it (a notation's
        hold everywhere).  A use before any definition is of an undefined name: the same letter
        often means another quantity in an earlier section."""
        found = list(self.definitions.get(name, ()))
        if len(name) == 1 and name.isupper():
            # a loss given a new name (J_{neg-sample}) is what the plain J means from there on
            # (not one written with the plain J: J_{skip-gram} = \sum_j J(v_c, w_{t+j}, U) sums J)
            found += [d for n, defs in self.definitions.items() if n.startswith(name + "tag") for d in defs
                      if not re.search(rf"(?<![A-Za-z\\]){name}\s*\(", d.latex)]
            found.sort(key=lambda d: d.position)
        if not found:
            return None
        before = [d for d in found if d.position <= position]
        if before:
            return before[-1]
        # a use before the definition: the definition when it is the only one the name has (one
        # equation, or the pieces of one piecewise definition); a name defined twice may mean
        # another quantity before its first definition
        # a use before the definition: only the pieces of a piecewise definition (y_w = 1 for w = o,
        # 0 otherwise) are facts stated once for the whole document; any other name may mean
        # another quantity before it is defined
        if found and all(d.condition for d in found) and len({d.params for d in found}) == 1:
            return found[0] if found[0].origin == "document" else None
        if self.ahead and len(found) == 1 and found[0].origin == "document":
            return found[0]  # the name's one definition, stated further on
        return None

    def epoch(self, position: int) -> int:
        """A position at which every name means what it means at position: the last definition made
        up to it.  definition() and pieces() read a position only through comparisons with
        definitions' positions (and values max it with one), so they cannot tell the two apart;
        evaluating every step at its epoch lets the steps between two definitions share the
        expansions of the defined quantities (J, \\hat{y}) instead of making them again each."""
        before = [d.position for defs in self.definitions.values() for d in defs if d.position <= position]
        return max(before) if before else -10 ** 9  # before every definition

    def pieces(self, name: str, position: int) -> list[Definition]:
        """The pieces of a piecewise definition in force at position (y_w = 1 if w = o, y_w = 0 if
        w \neq o), latest first; one unconditional definition ends the list."""
        latest = self.definition(name, position)
        if latest is None or latest.condition is None:
            return [latest] if latest else []
        out = []
        for d in sorted((d for d in self.definitions.get(name, ()) if d.position <= position),
                        key=lambda d: -d.position):
            if d.kind != latest.kind or len(d.params) != len(latest.params):
                break
            out.append(d)
            if d.condition is None:
                break
        return out

    def is_array(self, name: str) -> bool:
        return name in self.arrays

    def token_names(self) -> frozenset[str]:
        """Multi-letter names kept whole; fixed once the document is read (infer), so that every
        parse of one text is the same parse."""
        if self.tokens is not None:
            return self.tokens
        out = set(self.names)
        out.update(n for n in self.arrays if len(n) > 1)
        out.update(n for n in self.definitions if len(n) > 1)
        out.update(self.aliases)
        out.update(n for n in self.sizes if len(n) > 1)
        return frozenset(n for n in out if n.isalpha())


def from_notation(notation: Notation, origin: str) -> Context:
    """A notation file's entries as a context: matrices with column letters become families,
    one-hot vectors keep their index, definitions hold everywhere."""
    ctx = Context(source=origin)
    ctx.sizes.update(notation.sizes)
    ctx.aliases.update(notation.size_aliases)
    for name, size in notation.indices.items():
        ctx.particular[name] = size
    for name, s in notation.symbols.items():
        if s.role == "matrix":
            ctx.arrays[name] = Array(name, s.shape[0], s.shape[1], origin)
            if s.column:
                ctx.families[s.column] = Family(s.column, name, "column", s.entry, origin)
        elif s.role in ("vector", "onehot"):
            size = s.shape[0] if s.shape else next(iter(notation.sizes), "1")
            ctx.arrays[name] = Array(name, size, "1", origin)
            if s.role == "onehot":
                ctx.onehots[name] = s.at
        elif s.role == "row":
            size = s.shape[0] if s.shape else next(iter(notation.sizes), "1")
            ctx.arrays[name] = Array(name, "1", size, origin)
        elif s.role == "scalar":
            ctx.scalars.add(name)
    for name, latex in notation.definitions.items():
        ctx.definitions.setdefault(name, []).append(Definition(name, latex, origin=origin))
    for call, latex in notation.calls.items():
        ctx.calls.setdefault(_bare(call), []).append(Definition(call, latex, "call", origin=origin))
    for name, (length, values) in notation.arrays.items():
        ctx.index_arrays[name] = IndexArray(name, length, values)
    # a notation's index arrays are drawn with replacement (a sample may repeat, or be o)
    ctx.distinct_samples = not notation.arrays
    ctx.anchored.update(ctx.arrays)
    ctx.anchored.update(ctx.families)
    ctx.anchored.update(ctx.definitions)
    ctx.anchored.update(ctx.scalars)
    return ctx


def _bare(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "()")
