"""The one table writer and reader, and the manifest.

Every table goes through :func:`write_table`: it checks the frame against
the declared schema (columns, types, nulls, allowed values, primary key),
writes Parquet to a temporary file beside the target and renames it into
place, so a killed run never leaves a half-written table behind.

The manifest records, per table, the row count and a content hash computed
from the rows themselves (canonical JSON lines sorted by primary key), not
from the Parquet bytes, so it does not depend on the Parquet writer's version.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import config, schema


# Nullable pandas types, so an integer column with nulls stays integer and strings stay strings.
_PANDAS_TYPES = {
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.string(): pd.StringDtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.float64(): pd.Float64Dtype(),
}


class SchemaError(ValueError):
    """A table does not match its declaration in ``pipeline.schema``."""


def to_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """Validate ``frame`` against table ``name`` and convert it to Arrow.

    Raises :class:`SchemaError` naming the table and the problem: missing or
    undeclared columns, nulls in a non-null column, values outside the
    allowed set, or a duplicated primary key.
    """
    table = schema.get(name)
    missing = [c for c in table.column_names if c not in frame.columns]
    extra = [c for c in frame.columns if c not in table.column_names]
    if missing or extra:
        raise SchemaError(f"table {name}: missing columns {missing}, undeclared columns {extra}")
    frame = frame[table.column_names]
    for col in table.columns:
        values = frame[col.name]
        if not col.nullable and values.isna().any():
            rows = list(frame.index[values.isna()][:5])
            raise SchemaError(f"table {name}: column {col.name} is declared non-null but has nulls (rows {rows})")
        if col.allowed is not None:
            bad = sorted(set(values.dropna()) - set(col.allowed))
            if bad:
                raise SchemaError(f"table {name}: column {col.name} has values {bad} outside {list(col.allowed)}")
    key = list(table.primary_key)
    duplicated = frame.duplicated(subset=key, keep=False)
    if duplicated.any():
        sample = frame.loc[duplicated, key].head(5).to_dict("records")
        raise SchemaError(f"table {name}: primary key {key} is not unique, e.g. {sample}")
    try:
        arrow = pa.Table.from_pandas(frame, schema=table.arrow_schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"table {name}: {exc}") from exc
    return arrow.replace_schema_metadata(_pandas_metadata(name))


@lru_cache(maxsize=None)
def _pandas_metadata(name: str) -> dict[bytes, bytes]:
    """The pandas metadata a table is written with: the column types :func:`read_table` gives.

    ``from_pandas`` would record the dtypes the frame happened to have (an
    integer column built from a list is ``object``, the same column read
    back is ``Int32``), so the file's bytes would depend on how the frame
    was built; this records the declared types instead.
    """
    table = schema.get(name)
    empty = table.arrow_schema.empty_table().to_pandas(types_mapper=_PANDAS_TYPES.get)
    return pa.Table.from_pandas(empty, schema=table.arrow_schema, preserve_index=False).schema.metadata


def write_table(name: str, frame: pd.DataFrame, out_dir: Path) -> Path:
    """Validate and write table ``name`` atomically as ``<out_dir>/<name>.parquet``."""
    arrow = to_arrow(name, frame)
    buffer = pa.BufferOutputStream()
    pq.write_table(arrow, buffer, compression="zstd")
    return write_bytes_atomic(config.table_path(name, out_dir), buffer.getvalue().to_pybytes())


def read_table(name: str, out_dir: Path | None = None) -> pd.DataFrame:
    """Read table ``name`` from ``out_dir`` (default data/processed) with its declared schema."""
    table = schema.get(name)
    path = config.table_path(name, out_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `make all` (or `python -m pipeline all`) first")
    arrow = pq.read_table(path, schema=table.arrow_schema)
    return arrow.to_pandas(types_mapper=_PANDAS_TYPES.get)


def _canonical(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):
        return _canonical(value.item())
    return value


def content_hash(arrow: pa.Table, primary_key: tuple[str, ...]) -> str:
    """SHA-256 of the table's rows as canonical JSON lines sorted by primary key.

    Each row is the line ``json.dumps(row, ensure_ascii=False,
    sort_keys=True)`` of its values made canonical (NaN as null, floats
    rounded to 9 places, dates in ISO format), followed by ``\n``; rows are
    sorted by the primary key, nulls last. The lines are built column by
    column, batch by batch (the tables of the 100x benchmark hash in about
    4 s instead of 11 row by row); tests check the result against the
    row-by-row definition.
    """
    # Arrow sorts strings by their UTF-8 bytes, which is code point order as in Python, and nulls last by
    # default; its sort is stable (rows with equal keys keep their order, as Python's sort does)
    order = pc.sort_indices(arrow, sort_keys=[(k, "ascending") for k in primary_key])
    names = sorted(arrow.column_names)
    # '{"a": %s, "b": %s}\n' (json.dumps' separators), with any % in a column name doubled
    line = "{" + ", ".join(json.encoder.encode_basestring(n).replace("%", "%%") + ": %s" for n in names) + "}\n"
    digest = hashlib.sha256()
    for start in range(0, arrow.num_rows, _HASH_BATCH_ROWS):
        part = arrow.take(order.slice(start, _HASH_BATCH_ROWS))
        rows = zip(*(_json_values(part.column(name)) for name in names))
        digest.update("".join([line % row for row in rows]).encode("utf-8"))
    return digest.hexdigest()


_HASH_BATCH_ROWS = 20_000  # rows encoded at a time: bounds the memory of hashing a large table


def _json_values(column: pa.ChunkedArray) -> list[str]:
    """The JSON text of each value of ``column``, as ``json.dumps`` writes its canonical value."""
    values = column.to_pylist()
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        encode = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses for str
        return ["null" if v is None else encode(v) for v in values]
    if pa.types.is_integer(kind):
        return ["null" if v is None else int.__repr__(v) for v in values]
    if pa.types.is_boolean(kind):
        return ["null" if v is None else "true" if v else "false" for v in values]
    return [json.dumps(_canonical(v), ensure_ascii=False) for v in values]


def table_summary(name: str, out_dir: Path) -> dict[str, Any]:
    """Row count and content hash of a written table, as the manifest records it."""
    table = schema.get(name)
    arrow = pq.read_table(config.table_path(name, out_dir), schema=table.arrow_schema, use_threads=False)
    return {"rows": arrow.num_rows, "content_sha256": content_hash(arrow, table.primary_key)}


def table_summaries(out_dir: Path) -> dict[str, dict[str, Any]]:
    """:func:`table_summary` of every declared table present in ``out_dir``."""
    return {name: table_summary(name, out_dir) for name in schema.TABLES if config.table_path(name, out_dir).exists()}


PUBLISHED_MODE = 0o644  # published files are readable by everyone who may read the folder


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file beside it and a rename; nothing half-written remains."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, PUBLISHED_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON (sorted keys, UTF-8, trailing newline) atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    """Read a JSON file written by :func:`write_json_atomic`."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
