"""Sums the author did not write out.

A sum without its index (\\sum e^{x_d}, \\sum t_i \\log y_i) runs over the one letter of its
body that the rest of the equation does not use.  Under the Einstein convention (a document
that says so), a letter repeated within a product, or one that the equation's left side does
not have, is summed where it appears.  Both rewrite the tree the grammar gave into one with the
sums written, so the evaluator never guesses.
"""
from __future__ import annotations

from lark import Token, Tree

from .evaluate import _letters


def subscript_letters(tree) -> list[str]:
    """Index letters used as subscripts anywhere in tree (bound or not), in order."""
    out: list[str] = []
    if not isinstance(tree, Tree):
        return out
    for node in tree.iter_subtrees_topdown():
        if node.data in ("symbol", "component"):
            groups = [c for c in node.children[1:] if isinstance(c, Tree)]
            for g in groups:
                for x in _letters(g):
                    for letter in (x[1] if isinstance(x, tuple) else (x,)):
                        if isinstance(letter, str) and letter != "?" and letter not in out:
                            out.append(letter)
        elif node.data == "delta":
            for x in _letters(node.children[0]):
                if isinstance(x, str) and x not in out:
                    out.append(x)
        elif node.data == "delta2":
            for t in node.children:
                if t.value not in out:
                    out.append(t.value)
    return out


def free_letters(tree, bound: frozenset[str] = frozenset()) -> list[str]:
    """Index letters used as subscripts outside every written sum that binds them."""
    from .evaluate import _binder

    out: list[str] = []
    if not isinstance(tree, Tree):
        return out
    if tree.data == "bigop" and len(tree.children) >= 3:
        letter = _binder(tree.children[1])[0]
        return [x for x in free_letters(tree.children[-1], bound | {letter})]
    if tree.data in ("symbol", "component", "delta", "delta2"):
        return [x for x in subscript_letters(Tree("x", [tree])) if x not in bound]
    for c in tree.children:
        for x in free_letters(c, bound):
            if x not in out:
                out.append(x)
    return out


def _outside(tree, target) -> list[str]:
    """Letters of tree outside the subtree target and outside every other sum without an index."""
    if tree is target or not isinstance(tree, Tree):
        return []
    if tree.data == "bigop" and len(tree.children) == 2:
        return []
    if tree.data in ("symbol", "component", "delta", "delta2"):
        return subscript_letters(Tree("x", [tree]))
    out: list[str] = []
    for c in tree.children:
        for x in _outside(c, target):
            if x not in out:
                out.append(x)
    return out


def bind_sums(tree, outside: set[str] | frozenset[str] = frozenset()):
    """The tree with every \\sum that has no index given the one it must have, where it is clear."""
    if not isinstance(tree, Tree):
        return tree
    if not any(n.data == "bigop" and len(n.children) == 2 for n in tree.iter_subtrees()):
        return tree
    return _bind(tree, tree, frozenset(outside))


def _bind(node, root, outside):
    if not isinstance(node, Tree):
        return node
    children = [_bind(c, root, outside) for c in node.children]
    node = Tree(node.data, children)
    if node.data == "bigop" and len(node.children) == 2:
        body = node.children[1]
        used_elsewhere = set(outside) | set(_outside(root, _find(root, body)))
        candidates = [x for x in subscript_letters(body) if x not in used_elsewhere]
        if len(candidates) == 1:
            return Tree("bigop", [node.children[0], Token("NAME", candidates[0]), body])
    return node


def _find(root, body):
    """The node of root whose body matches (the rebuilt tree has new nodes: compare by value)."""
    for n in root.iter_subtrees():
        if n.data == "bigop" and len(n.children) == 2 and n.children[1] == body:
            return n
    return body


def einstein(tree, free: set[str] | frozenset[str]):
    r"""The tree with the sums Einstein's convention implies.  Terms of a sum are independent; in a
    product, a letter that is not free (not on the equation's left side) and appears in two of
    its factors is summed over the product; a letter that appears once is summed where it is
    (e^{\theta_m} in a denominator is \sum_m e^{\theta_m})."""
    if not isinstance(tree, Tree):
        return tree
    return _implied(tree, frozenset(free))


LEAVES = ("symbol", "component", "delta", "delta2", "number")


def _implied(node, bound):
    if not isinstance(node, Tree):
        return node
    if node.data == "bigop":
        from .evaluate import _binder

        rest = node.children[1:]
        letter = _binder(rest[0] if len(rest) >= 2 else None)[0]
        inner = bound | ({letter} if isinstance(letter, str) else set())
        return Tree("bigop", list(node.children[:-1]) + [_implied(node.children[-1], inner)])
    if node.data in ("derivative", "derivop"):
        # the variable's letters are the derivative's own; the numerator follows the convention
        variable = node.children[1] if node.data == "derivative" else node.children[0]
        own = bound | set(subscript_letters(Tree("x", [variable])))
        if node.data == "derivative":
            return Tree("derivative", [_implied(node.children[0], own), variable])
        return Tree("derivop", [variable, _implied(node.children[1], own)])
    if node.data in LEAVES:
        letters = [x for x in subscript_letters(Tree("x", [node])) if x not in bound]
        return node if not letters else node  # summed by the enclosing node, which sees it once
    if node.data in ("add", "sub"):
        return Tree(node.data, [_implied(c, bound) for c in node.children])
    counts: dict[str, int] = {}
    for c in node.children:
        for x in set(_letters_in(c)) - bound:
            counts[x] = counts.get(x, 0) + 1
    shared = sorted(x for x, n in counts.items() if n >= 2)
    single_leaf = [x for x, n in counts.items() if n == 1 and any(
        isinstance(c, Tree) and c.data in LEAVES and x in _letters_in(c) for c in node.children)]
    inner_bound = bound | set(shared) | set(single_leaf)
    out = Tree(node.data, [_implied(c, inner_bound) if isinstance(c, Tree) else c for c in node.children])
    for letter in sorted(set(shared) | set(single_leaf)):
        out = Tree("bigop", [Token("BIGOP", "\\sum"), Token("NAME", letter), out])
    return out


def _letters_in(node) -> list[str]:
    if not isinstance(node, Tree):
        return []
    return subscript_letters(node) if node.data not in LEAVES else subscript_letters(Tree("x", [node]))


def extend_sums(tree, outside: set[str] | frozenset[str] = frozenset()):
    """\\sum_i a_i - b_i: a term after a sum that uses the sum's letter, which nothing outside
    binds, belongs to the sum (the author's parentheses left out); the strict reading would
    leave the letter free and the step meaningless."""
    if not isinstance(tree, Tree) or not any(n.data == "bigop" for n in tree.iter_subtrees()):
        return tree
    if tree.data not in ("add", "sub"):
        children = [extend_sums(c, outside) for c in tree.children]
        return tree if all(a is b for a, b in zip(children, tree.children)) else Tree(tree.data, children)
    from .evaluate import _binder

    terms: list[tuple[int, object]] = []

    def flatten(node, sign):
        if isinstance(node, Tree) and node.data in ("add", "sub"):
            flatten(node.children[0], sign)
            flatten(node.children[1], sign if node.data == "add" else -sign)
        else:
            terms.append((sign, node))

    flatten(tree, 1)
    changed = False
    i = 0
    while i < len(terms):
        sign, node = terms[i]
        negated = isinstance(node, Tree) and node.data == "neg" and isinstance(node.children[0], Tree) and \
            node.children[0].data == "bigop"
        big = node.children[0] if negated else node
        if not (isinstance(big, Tree) and big.data == "bigop" and len(big.children) >= 3):
            i += 1
            continue
        letter = _binder(big.children[1])[0]
        take = [j for j in range(i + 1, len(terms)) if isinstance(letter, str) and letter not in outside
                and letter in free_letters(terms[j][1])]
        if not take:
            i += 1
            continue
        body = big.children[-1]
        for j in take:
            inner = terms[j][0] * sign * (-1 if negated else 1)
            body = Tree("add" if inner > 0 else "sub", [body, terms[j][1]])
        big = Tree("bigop", list(big.children[:-1]) + [body])
        terms[i] = (sign, Tree("neg", [big]) if negated else big)
        terms = [t for j, t in enumerate(terms) if j not in take]
        changed = True
        i += 1
    if not changed:
        return tree
    sign, out = terms[0]
    out = out if sign > 0 else Tree("neg", [out])
    for sign, node in terms[1:]:
        out = Tree("add" if sign > 0 else "sub", [out, node])
    return out


def _is_elision(node) -> bool:
    return isinstance(node, Tree) and node.data == "symbol" and len(node.children) == 1 and \
        str(node.children[0]) == "cdots"


def has_elision(tree) -> bool:
    """Whether tree has a sum written with its middle terms elided (a_1 + \\cdots + a_n)."""
    return isinstance(tree, Tree) and any(n.data in ("add", "sub") and any(_is_elision(c) for c in n.children)
                                          for n in tree.iter_subtrees())


def _subscript_value(g) -> str | None:
    """The one index a subscript group writes (y_1, y_{1}, y_{o}), or None."""
    if not (isinstance(g, Tree) and g.data == "group" and len(g.children) == 1):
        return None
    x = g.children[0]
    if isinstance(x, Tree) and x.data in ("number", "symbol") and len(x.children) == 1:
        x = x.children[0]
    return x.value if isinstance(x, Token) else None


def _with_subscript(tree, value: str, letter: str):
    """tree with every subscript written value (a whole subscript: y_1, \\hat{y}_{1}) as letter."""
    if not isinstance(tree, Tree):
        return tree
    if tree.data == "symbol":
        children = [tree.children[0]]
        for g in tree.children[1:]:
            if _subscript_value(g) == value:
                g = Tree("group", [Token("NAME", letter)])
            children.append(g)
        return Tree("symbol", children)
    return Tree(tree.data, [_with_subscript(c, value, letter) for c in tree.children])


def _subscripts(tree) -> list[str]:
    out = []
    for node in (tree.iter_subtrees() if isinstance(tree, Tree) else ()):
        if node.data == "symbol":
            for g in node.children[1:]:
                v = _subscript_value(g)
                if v is not None and v not in out:
                    out.append(v)
    return out


def expand_elisions(tree):
    """y_1 \\log \\hat{y}_1 + \\cdots + y_o \\log \\hat{y}_o + \\cdots + y_V \\log \\hat{y}_V: terms of one
    template at index values 1, ..., with the ones between elided, read as the sum of the template
    over the whole range of the index (the convention of the ellipsis).  Any other use of \\cdots is
    left as it is (and cannot be checked)."""
    if not isinstance(tree, Tree) or not has_elision(tree):
        return tree
    if tree.data not in ("add", "sub"):
        return Tree(tree.data, [expand_elisions(c) for c in tree.children])
    terms: list[tuple[int, object]] = []

    def flatten(node, sign):
        if isinstance(node, Tree) and node.data in ("add", "sub"):
            flatten(node.children[0], sign)
            flatten(node.children[1], sign if node.data == "add" else -sign)
        else:
            terms.append((sign, node))

    flatten(tree, 1)
    written = [(s, t) for s, t in terms if not _is_elision(t)]
    signs = {s for s, _ in terms}
    if len(written) < 2 or len(signs) != 1 or len(written) == len(terms):
        return tree
    used = set(_subscripts(tree)) | {str(t) for n in tree.iter_subtrees() for t in n.children if isinstance(t, Token)}
    letter = next((x for x in "jklmnpqrst" if x not in used), None)
    first = written[0][1]
    if letter is None or "1" not in _subscripts(first):
        return tree
    template = _with_subscript(first, "1", letter)
    for _, term in written[1:]:
        if not any(_with_subscript(term, v, letter) == template for v in _subscripts(term)):
            return tree  # not one template: an elision gradproof does not read
    total = Tree("bigop", [Token("BIGOP", "\\sum"), Tree("from_value", [Token("NAME", letter),
                                                                     Tree("number", [Token("NUMBER", "1")])]),
                           template])
    return total if signs == {1} else Tree("neg", [total])
