"""Shared fixtures: the seed exports, the hand-made truth, and a temporary pipeline run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import config

FIXTURES = Path(__file__).parent / "fixtures"
SEED_EXPORTS = sorted(config.RAW_DIR.glob("*.txt"))


def load_truth() -> dict[str, dict]:
    """tests/fixtures/posts.json (copied from the shared truth) keyed by export file name."""
    with open(FIXTURES / "posts.json", encoding="utf-8") as fh:
        return {board["file"]: board for board in json.load(fh)}


@pytest.fixture(scope="session")
def truth() -> dict[str, dict]:
    return load_truth()


@pytest.fixture(scope="session")
def processed(tmp_path_factory) -> Path:
    """One end-to-end run of the whole pipeline over data/raw into a temporary folder."""
    from pipeline.run import run_all

    out = tmp_path_factory.mktemp("processed")
    run_all(config.RAW_DIR, out, progress=False)
    return out
