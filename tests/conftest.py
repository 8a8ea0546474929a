"""Shared fixtures: the proofs of every shipped model, computed once per test session."""
import pytest


@pytest.fixture(scope="session")
def proved_all():
    from gradproof.derive.catalog import names
    from gradproof.derive.proofs import prove_models

    return prove_models(names(), jobs=2)
