"""Sound rewrites that keep derived expressions short: what reverse mode builds mechanically
(1 1^T ⊙ P, a scatter of a scalar, a transposed product) said the way one would write it.

Each rewrite is an identity of matrices, entry by entry; the prover checks every derived
form afterwards anyway.
"""
from __future__ import annotations

import sympy as sp
from sympy import HadamardProduct, Identity, MatAdd, MatMul, MatrixExpr, OneMatrix, Transpose, ZeroMatrix

from .algebra import OneHot, Scale, Scatter, ScatterTake, Take, is_array


def _coeff(x):
    """(scalar, matrix) with x = scalar * matrix."""
    if isinstance(x, MatMul):
        c, factors = x.as_coeff_matrices()
        if c != 1:
            return c, (factors[0] if len(factors) == 1 else MatMul(*factors))
    return sp.S.One, x


def _ones_1x1(x) -> bool:
    return isinstance(x, (OneMatrix, Identity)) and x.shape == (1, 1)


def _is_ones(x) -> bool:
    return isinstance(x, OneMatrix)


def _rewrite(x):
    if isinstance(x, HadamardProduct):
        factors, scale = [], sp.S.One
        for a in x.args:
            c, m = _coeff(a)
            scale *= c
            if isinstance(m, HadamardProduct):
                factors.extend(m.args)
            elif isinstance(m, ZeroMatrix):
                return ZeroMatrix(*x.shape)
            elif not _is_ones(m):
                factors.append(m)
        factors.sort(key=sp.default_sort_key)  # E ⊙ F and F ⊙ E: one spelling, so that sums merge
        body = OneMatrix(*x.shape) if not factors else factors[0] if len(factors) == 1 else HadamardProduct(*factors)
        return body if scale == 1 else scale * body
    if isinstance(x, Scale):
        s, M = x.args
        c, m = _coeff(s)
        if _ones_1x1(m):
            return c * M
        return x
    if isinstance(x, MatMul):
        if any(isinstance(a, MatMul) for a in x.args):  # flatten: (-v s^T) e^T = -v s^T e^T
            x = x.doit(deep=False)
            if not isinstance(x, MatMul):
                return x
        c, factors = x.as_coeff_matrices()
        if c == -1 and len(factors) == 1 and isinstance(factors[0], MatAdd):  # -(a - b) = b - a
            return MatAdd(*[-t for t in factors[0].args])
        out = []
        for f in factors:
            if _ones_1x1(f) and len(factors) > 1:
                continue
            out.append(f)
            while len(out) >= 2:  # 1 1^T e_o = 1, e_o^T 1 = 1, 1^T scatter(g) = 1^T g: the totals
                merged = _ones_pair(out[-2], out[-1])
                if merged is None:
                    break
                out[-2:] = merged
        out = [f for f in out if not (_ones_1x1(f) and len(out) > 1)] or [OneMatrix(1, 1)]
        if len(out) == len(factors) and all(a is b for a, b in zip(out, factors)):
            return x
        body = out[0] if len(out) == 1 else MatMul(*out).doit(deep=False)
        return c * body if c != 1 else body
    if isinstance(x, ScatterTake):
        g, idx, n = x.args
        if not is_array(idx):  # one index: e_idx g
            c, m = _coeff(g)
            return c * OneHot(idx, n) if _ones_1x1(m) else MatMul(OneHot(idx, n), g)
        return x
    if isinstance(x, Scatter):
        g, idx, n = x.args[:3]
        axis = x.axis
        if not is_array(idx):  # one column (row) placed: g e_idx^T (e_idx g^T)
            return MatMul(g, Transpose(OneHot(idx, n))) if axis == 1 else MatMul(OneHot(idx, n), Transpose(g))
        c, m = _coeff(g)
        if isinstance(m, MatMul) and axis == 1:  # scatter(v t^T) = v scatter(t)^T: an outer product
            factors = m.args
            if len(factors) == 2 and factors[0].shape[1] == 1 and isinstance(factors[1], Transpose):
                v, t = factors[0], factors[1].arg
                return c * MatMul(v, Transpose(ScatterTake(t, idx, n)))
        return x
    if isinstance(x, Take):
        v, idx = x.args
        c, m = _coeff(v)
        if _is_ones(m) and m.shape[1] == 1:
            return c * OneMatrix(*x.shape)
        return x
    if isinstance(x, Transpose):
        a = x.arg
        if isinstance(a, Transpose):
            return a.arg
        if isinstance(a, OneMatrix):
            return OneMatrix(a.shape[1], a.shape[0])
        if isinstance(a, (MatMul, MatAdd)):
            return a.T.doit(deep=False) if isinstance(a, MatMul) else MatAdd(*[Transpose(t) for t in a.args])
        if isinstance(a, HadamardProduct):
            return HadamardProduct(*[Transpose(t) for t in a.args])
        if isinstance(a, Scale):
            return Scale(a.args[0], Transpose(a.args[1]))
        if isinstance(a, OneHot) and is_array(a.args[0]):
            return OneHot(a.args[0], a.args[1], 1 - a.axis)
        if a.shape == (1, 1) and isinstance(a, (sp.MatrixSymbol,)):
            return a
        return x
    if isinstance(x, MatAdd):
        return _factor(x)
    return x


def _one_hot(x) -> bool:
    return isinstance(x, OneHot) and not is_array(x.args[0])


def _ones_pair(a, b):
    """Two adjacent factors whose product is a matrix of ones (or ones times g), else None."""
    if isinstance(a, OneMatrix) and _one_hot(b):  # 1 e_o: every row sums the one
        return [OneMatrix(a.shape[0], 1)]
    if isinstance(a, Transpose) and _one_hot(a.arg) and isinstance(b, OneMatrix):
        return [OneMatrix(1, b.shape[1])]
    if isinstance(a, OneMatrix) and isinstance(b, ScatterTake) and b.args[0].shape[1] == 1:
        return [OneMatrix(a.shape[0], b.args[0].shape[0]), b.args[0]]
    if isinstance(a, Transpose) and isinstance(a.arg, ScatterTake) and isinstance(b, OneMatrix) \
            and a.arg.args[0].shape[1] == 1:
        return [Transpose(a.arg.args[0]), OneMatrix(a.arg.args[0].shape[0], b.shape[1])]
    if isinstance(a, OneMatrix) and isinstance(b, OneMatrix):
        return [OneMatrix(a.shape[0], b.shape[1]) * a.shape[1]] if a.shape[1] != 1 else None
    return None


def _monomials(term, limit=8):
    """term as a sum of c * (f1 ⊙ f2 ⊙ ...), distributing ⊙ over +; None past limit terms."""
    c, m = _coeff(term)
    if isinstance(m, MatAdd):
        out = []
        for t in m.args:
            inner = _monomials(t, limit)
            if inner is None:
                return None
            out += [(c * ci, fi) for ci, fi in inner]
        return out if len(out) <= limit else None
    factors = m.args if isinstance(m, HadamardProduct) else (m,)
    out = [(c, ())]
    for f in factors:
        options = _monomials(f, limit) if isinstance(f, MatAdd) else [(sp.S.One, (f,))]
        if options is None:
            return None
        out = [(ca * cb, fa + tuple(g for g in fb if not isinstance(g, OneMatrix))) for ca, fa in out for cb, fb in options]
        if len(out) > limit:
            return None
    return [(ci, tuple(sorted((g for g in fi if not isinstance(g, OneMatrix)), key=sp.default_sort_key))) for ci, fi in out]


def _sigmoid_complement(x):
    """R ⊙ sigma(a) + R ⊙ sigma(-a) = R: (1 - y) ⊙ sigma(z) - y ⊙ sigma(-z) is sigma(z) - y."""
    from .algebra import Sigmoid

    monos = _monomials(x)
    if monos is None or not any(isinstance(f, Sigmoid) for _, fs in monos for f in fs):
        return None
    changed = True
    while changed:
        changed = False
        for k, (ck, fk) in enumerate(monos):
            for q, (cq, fq) in enumerate(monos):
                if q <= k or ck != cq:
                    continue
                for f in fk:
                    if isinstance(f, Sigmoid) and Sigmoid(-f.args[0]) in fq:
                        rest_k = list(fk)
                        rest_k.remove(f)
                        rest_q = list(fq)
                        rest_q.remove(Sigmoid(-f.args[0]))
                        if sorted(rest_k, key=sp.default_sort_key) == sorted(rest_q, key=sp.default_sort_key):
                            monos = [m for z, m in enumerate(monos) if z not in (k, q)] + [(ck, tuple(rest_k))]
                            changed = True
                            break
                if changed:
                    break
            if changed:
                break
    if len(monos) >= len(_monomials(x)):
        return None
    terms = []
    for c, fs in monos:
        body = OneMatrix(*x.shape) if not fs else fs[0] if len(fs) == 1 else HadamardProduct(*fs)
        terms.append(body if c == 1 else c * body)
    return terms[0] if len(terms) == 1 else MatAdd(*terms)


def _factor(x):
    """c A + c B = c (A + B); v a^T + v b^T = v (a + b)^T: one product, not two."""
    shorter = _sigmoid_complement(x)
    if shorter is not None:
        return shorter
    terms = [t for t in x.args if not isinstance(t, ZeroMatrix)]
    if not terms:
        return ZeroMatrix(*x.shape)
    if len(terms) == 1:
        return terms[0]
    coeffs = [_coeff(t) for t in terms]
    common = coeffs[0][0]
    for c, _ in coeffs[1:]:
        common = sp.gcd(common, c)
    if common != 1 and common.is_number is False or common not in (0, 1) and not common.is_Integer:
        if all(sp.simplify(c / common).is_Rational for c, _ in coeffs) and common != 1:
            inner = MatAdd(*[(c / common) * m if c / common != 1 else m for c, m in coeffs])
            return common * inner
    # a common left factor: v a^T + v b^T = v (a + b)^T; a common right factor likewise
    firsts = [_first(t) for t in terms]
    if all(f is not None for f in firsts) and len({f[0] for f in firsts}) == 1:
        return MatMul(firsts[0][0], MatAdd(*[f[1] for f in firsts]))
    lasts = [_last(t) for t in terms]
    if all(f is not None for f in lasts) and len({f[1] for f in lasts}) == 1:
        return MatMul(MatAdd(*[f[0] for f in lasts]), lasts[0][1])
    if len(terms) != len(x.args):
        return MatAdd(*terms)
    return x


def _first(t):
    """(v, rest) for a term c v r..., v a column vector and the rest a row (an outer product)."""
    c, m = _coeff(t)
    if isinstance(m, MatMul) and len(m.args) >= 2 and m.args[0].shape[1] == 1 and m.args[0].shape[0] != 1:
        rest = m.args[1:]
        row = rest[0] if len(rest) == 1 else MatMul(*rest)
        if row.shape[0] == 1:
            return m.args[0], (c * row if c != 1 else row)
    return None


def _last(t):
    """(rest, r) for a term c ... r, r a row vector and the rest a column (an outer product)."""
    c, m = _coeff(t)
    if isinstance(m, MatMul) and len(m.args) >= 2 and m.args[-1].shape[0] == 1 and m.args[-1].shape[1] != 1:
        rest = m.args[:-1]
        col = rest[0] if len(rest) == 1 else MatMul(*rest)
        if col.shape[1] == 1:
            return (c * col if c != 1 else col), m.args[-1]
    return None


def tidy(x, limit: int = 12):
    """Rewrite bottom-up until nothing changes."""
    for _ in range(limit):
        new = _bottom_up(x)
        if new == x:
            return x
        x = new
    return x


def _bottom_up(x):
    if not isinstance(x, MatrixExpr) or not x.args:
        return x
    args = [_bottom_up(a) if isinstance(a, MatrixExpr) else a for a in x.args]
    if any(a is not b for a, b in zip(args, x.args)):
        x = _rebuild(x, args)
    return _rewrite(x)


def _rebuild(x, args):
    if isinstance(x, MatMul):
        return MatMul(*args).doit(deep=False)
    if isinstance(x, MatAdd):
        return MatAdd(*args).doit(deep=False)
    if isinstance(x, HadamardProduct):
        return HadamardProduct(*args)
    return x.func(*args)
