"""Shared fixtures: the CLI and the official tables (ctest sets GQALUT_CLI and GQALUT_SHARED_DIR)."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _first(*paths):
    for p in paths:
        if p and pathlib.Path(p).exists():
            return pathlib.Path(p)
    return None


@pytest.fixture(scope="session")
def cli():
    path = _first(os.environ.get("GQALUT_CLI"), ROOT / "build" / "tools" / "gqalut")
    assert path is not None, "set GQALUT_CLI to the built gqalut tool"
    return str(path)


@pytest.fixture(scope="session")
def official_dir():
    shared = _first(os.environ.get("GQALUT_SHARED_DIR"), ROOT.parent / "shared")
    assert shared is not None, "set GQALUT_SHARED_DIR to the shared/ folder (reference/official)"
    return shared / "reference" / "official"
