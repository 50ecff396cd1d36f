"""Qualitative text-analysis pipeline for Norwegian Padlet seminar exports.

Stages: ingest -> clean -> normalise -> tag -> write. Analysts read the
processed tables with :func:`load_table`.
"""
from __future__ import annotations

__version__ = "0.1.0"


def load_table(name: str, out_dir=None):
    """Read one processed table (e.g. ``"posts"``) as a pandas DataFrame.

    ``out_dir`` defaults to ``data/processed`` of this checkout. The table's
    declared schema (``pipeline.schema``) is applied, so column types are the
    same whichever Parquet reader wrote or reads it.
    """
    from pipeline.io import read_table

    return read_table(name, out_dir)
