"""Shared fixtures: the proofs of every shipped model, computed once per test session; random
expressions grown from a few atoms (for the rewrites that must give what SymPy gives)."""
import pytest


@pytest.fixture(scope="session")
def proved_all():
    from gradproof.derive.catalog import names
    from gradproof.derive.proofs import prove_models

    return prove_models(names(), jobs=2)


@pytest.fixture
def grown():
    """grown(atoms, combine, count, seed): the atoms, then count expressions each grown from an
    earlier one by three random combinations with atoms (so that subexpressions repeat)."""
    import random

    def grow(atoms, combine, count, seed):
        rng = random.Random(seed)
        expressions = list(atoms)
        for _ in range(count):
            e = rng.choice(expressions)
            for _ in range(3):
                e = rng.choice(combine)(e, rng.choice(atoms))
            expressions.append(e)
        return expressions

    return grow
