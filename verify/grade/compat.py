"""Old names a submission may rely on, provided in its sandbox when the rubric asks (`compat`).

A handout written for NumPy 1 or Python 2 ran on that NumPy or that Python: a correct solution
calling `np.float`, `np.reshape(a, newshape=...)` or `xrange` was right where the student ran it.
Graded on NumPy 2 or Python 3 it raises, and the student would lose points for the grading
machine's versions, never their own mistake.  A rubric lists what to provide:

- "numpy1": the names NumPy 2 removed (the aliases np.int, np.float, np.NaN, np.product, ...; the
  keyword newshape of np.reshape; the functions of numpy.lib.npyio and the numpy.lib submodules
  NumPy 2 made private), each the same object or computation NumPy 1 had;
- "python2": Python 2's builtins that Python 3 renamed (xrange, unicode, long, basestring, unichr,
  reduce, intern).

Applied in the child only (its own copy of numpy, after the fork), before the submission is
imported; a name the running NumPy still has is left as it is.  Off unless the rubric says.
"""
from __future__ import annotations

import builtins
import functools
import importlib
import sys
import warnings

import numpy as np

KINDS = ("numpy1", "python2")


def _in1d(ar1, ar2, assume_unique=False, invert=False, **kwargs):
    return np.isin(np.asarray(ar1).ravel(), ar2, assume_unique=assume_unique, invert=invert, **kwargs)


def _asfarray(a, dtype=np.float64):
    dtype = np.dtype(dtype)
    return np.asarray(a, dtype=dtype if np.issubdtype(dtype, np.inexact) else np.float64)


# NumPy 1's name -> what it was (NEP 52 and the expired aliases); one line each
NUMPY1 = {
    "int": lambda: int, "float": lambda: float, "complex": lambda: complex, "object": lambda: object,
    "str": lambda: str, "unicode": lambda: str, "long": lambda: int, "bool": lambda: np.bool_,
    "bool8": lambda: np.bool_, "int0": lambda: np.intp, "uint0": lambda: np.uintp, "object0": lambda: np.object_,
    "str0": lambda: np.str_, "bytes0": lambda: np.bytes_, "void0": lambda: np.void,
    "float_": lambda: np.float64, "complex_": lambda: np.complex128, "cfloat": lambda: np.complex128,
    "singlecomplex": lambda: np.complex64, "longfloat": lambda: np.longdouble, "longcomplex": lambda: np.clongdouble,
    "clongfloat": lambda: np.clongdouble, "string_": lambda: np.bytes_, "unicode_": lambda: np.str_,
    "Inf": lambda: np.inf, "Infinity": lambda: np.inf, "infty": lambda: np.inf, "PINF": lambda: np.inf,
    "NINF": lambda: -np.inf, "NaN": lambda: np.nan, "PZERO": lambda: 0.0, "NZERO": lambda: -0.0,
    "alltrue": lambda: np.all, "sometrue": lambda: np.any, "product": lambda: np.prod, "cumproduct": lambda: np.cumprod,
    "round_": lambda: np.round, "trapz": lambda: np.trapezoid, "in1d": lambda: _in1d, "asfarray": lambda: _asfarray,
    "msort": lambda: lambda a: np.sort(a, axis=0), "asscalar": lambda: lambda a: np.asarray(a).item(),
    "alen": lambda: lambda a: len(np.array(a, ndmin=1)), "rank": lambda: np.ndim, "mat": lambda: np.asmatrix,
}

# numpy.lib submodules NumPy 2 made private: the old public name -> the module that holds them now
NUMPY1_LIB = ("function_base", "shape_base", "index_tricks", "arraysetops", "type_check", "twodim_base",
              "ufunclike", "nanfunctions", "polynomial", "histograms", "arraypad", "npyio", "utils")

PYTHON2 = {"xrange": range, "unicode": str, "long": int, "basestring": str, "unichr": chr,
           "reduce": functools.reduce, "intern": sys.intern}


def apply(kinds) -> None:
    """Provide the old names of each kind (KINDS) in this process."""
    if "numpy1" in kinds:
        _numpy1()
    if "python2" in kinds:
        for name, value in PYTHON2.items():
            if not hasattr(builtins, name):
                setattr(builtins, name, value)


def _has(owner, name: str) -> bool:
    with warnings.catch_warnings():  # np.object, np.str: a FutureWarning, not the submission's output
        warnings.simplefilter("ignore")
        try:  # NumPy 2 answers a removed alias with an AttributeError that says what replaced it
            getattr(owner, name)
        except AttributeError:
            return False
    return True


# functions NumPy 2.0-2.3 still have but deprecate (calling them warns into the submission's output,
# where NumPy 1 said nothing): replaced by the same computation without the warning
DEPRECATED = ("in1d", "trapz", "msort", "asfarray", "round_", "alltrue", "sometrue", "product", "cumproduct")


def _numpy1() -> None:
    for name, value in NUMPY1.items():
        if not _has(np, name) or name in DEPRECATED:
            try:
                setattr(np, name, value())
            except AttributeError:  # a NumPy too old to have the replacement has the name itself
                pass
    _reshape_newshape()
    for name in NUMPY1_LIB:
        _lib_module(name)


def _reshape_newshape() -> None:
    """np.reshape(a, newshape=...) as NumPy 1 took it, without a warning (NumPy 2.1 deprecated the
    keyword, later ones refuse it)."""
    original = np.reshape
    if getattr(original, "_gradproof_compat", False):
        return
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            original(np.zeros(1), newshape=(1,))
            if not said:
                return  # taken without a word, as NumPy 1 took it
        except TypeError:
            pass

    @functools.wraps(original)
    def reshape(a, *args, newshape=None, **kwargs):
        if newshape is not None and not args and "shape" not in kwargs:
            args = (newshape,)
        return original(a, *args, **kwargs)
    reshape._gradproof_compat = True
    np.reshape = reshape


def _lib_module(name: str) -> None:
    """numpy.lib.NAME importable with the public names of its private successor numpy.lib._NAME_impl."""
    public = f"numpy.lib.{name}"
    try:
        private = importlib.import_module(f"numpy.lib._{name}_impl")
    except ImportError:
        return
    try:
        module = importlib.import_module(public)
    except ImportError:
        module = None
    if module is None:
        sys.modules[public] = private
        setattr(np.lib, name, private)
        return
    for attribute in getattr(private, "__all__", ()):  # numpy.lib.npyio kept, with two of its names
        if not _has(module, attribute) and _has(private, attribute):
            setattr(module, attribute, getattr(private, attribute))
