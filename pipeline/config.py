"""Every path the project uses, in one place.

Nothing else in the code base hard-codes a path: stages receive their input
and output folders from here (or from the command line, which defaults to
these). ``data/raw`` is read-only input; stages write only below the output
folder they are given.
"""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
# Pseudonym keys and other re-identifying material: git-ignored, never published.
PRIVATE_DIR = DATA_DIR / "private"

SEEDS_DIR = PROJECT_ROOT / "seeds"
MODELS_DIR = PROJECT_ROOT / "models"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DOCS_DIR = PROJECT_ROOT / "docs"
# Hand-made truth for the seed exports (used by tests, evaluation and benchmarks, never by the pipeline).
FIXTURES_DIR = PROJECT_ROOT / "tests" / "fixtures"

MANIFEST_NAME = "MANIFEST.json"
EXPORT_GLOB = "*.txt"


def manifest_path(out_dir: Path | None = None) -> Path:
    """Where the manifest of an output folder lives."""
    return Path(out_dir or PROCESSED_DIR) / MANIFEST_NAME


def table_path(name: str, out_dir: Path | None = None) -> Path:
    """Where table ``name`` is written as Parquet in an output folder."""
    return Path(out_dir or PROCESSED_DIR) / f"{name}.parquet"
