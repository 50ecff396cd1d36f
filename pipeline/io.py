"""The one table writer and reader, and the manifest.

Every table goes through :func:`to_arrow`, which checks the frame against
the declared schema (columns, types, nulls, allowed values, primary key),
and :func:`write_arrow`, which writes Parquet to a temporary file beside
the target and renames it into place, so a killed run never leaves a
half-written table behind. :func:`write_table` does both; ``run_all``
checks every table first and has the report's process write them.

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

import numpy as np
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
            bad = sorted(set(values.dropna().unique()) - set(col.allowed))
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
    return write_arrow(name, to_arrow(name, frame), out_dir)


def write_arrow(name: str, arrow: pa.Table, out_dir: Path) -> Path:
    """Write table ``name`` from rows that :func:`to_arrow` validated, atomically as ``<out_dir>/<name>.parquet``."""
    buffer = pa.BufferOutputStream()
    pq.write_table(arrow, buffer, compression="zstd")
    return write_bytes_atomic(config.table_path(name, out_dir), buffer.getvalue().to_pybytes())


def read_table(name: str, out_dir: Path | None = None) -> pd.DataFrame:
    """Read table ``name`` from ``out_dir`` (default data/processed) with its declared schema."""
    table = schema.get(name)
    path = config.table_path(name, out_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `make all` (or `python -m pipeline all`) first")
    return to_frame(pq.read_table(path, schema=table.arrow_schema))


def to_frame(arrow: pa.Table) -> pd.DataFrame:
    """A table's rows (Arrow, read from its file or as :func:`write_table` wrote them) as :func:`read_table` gives them.

    The pandas metadata that :func:`to_arrow` attaches is left aside (a
    file read with the declared schema has none), so both give the same
    frame: the declared column types, a default index.
    """
    return arrow.replace_schema_metadata(None).to_pandas(types_mapper=_PANDAS_TYPES.get)


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
    sorted by the primary key, nulls last. The lines are built with Arrow
    compute functions, column by column, batch by batch (strings, integers
    and booleans never pass through Python objects; a string is escaped in
    Python only when it holds a character JSON escapes); tests check the
    result against the row-by-row definition.
    """
    arrow = arrow.combine_chunks()  # taking rows from one chunk per column is much faster
    # Arrow sorts strings by their UTF-8 bytes, which is code point order as in Python, and nulls last by
    # default; its sort is stable (rows with equal keys keep their order, as Python's sort does)
    order = pc.sort_indices(arrow, sort_keys=[(k, "ascending") for k in primary_key])
    names = sorted(arrow.column_names)
    # the text around the values in a line: '{"a": ', ', "b": ', ..., '}\n' (json.dumps' separators)
    around = ["{"] + [", "] * (len(names) - 1)
    labels = [_large(f"{before}{json.encoder.encode_basestring(name)}: ") for before, name in zip(around, names)]
    digest = hashlib.sha256()
    for start in range(0, arrow.num_rows, _HASH_BATCH_ROWS):
        part = arrow.take(order.slice(start, _HASH_BATCH_ROWS))
        pieces = []
        for label, name in zip(labels, names):
            pieces += [label, _json_texts(part.column(name))]
        lines = pc.binary_join_element_wise(*pieces, _large("}\n"), _large(""))
        for piece in _utf8_pieces(lines):
            digest.update(piece)
    return digest.hexdigest()


_HASH_BATCH_ROWS = 20_000  # rows encoded at a time: bounds the memory of hashing a large table
# The characters json.dumps escapes in a string (ensure_ascii=False): controls, the quote and the backslash.
_JSON_ESCAPED = r'[\x00-\x1f"\\]'


def _json_texts(column: pa.ChunkedArray) -> pa.Array:
    """The JSON text of each value of ``column``, as ``json.dumps`` writes its canonical value (a large string array)."""
    column = column.combine_chunks()
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = column.cast(pa.large_string())
        texts = pc.binary_join_element_wise(_large('"'), column, _large('"'), _large(""))
        if _may_need_escapes(column):
            escaped = pc.fill_null(pc.match_substring_regex(column, _JSON_ESCAPED), False)
            # what json.dumps(..., ensure_ascii=False) uses for str
            values = column.filter(escaped).to_pylist()
            texts = pc.replace_with_mask(texts, escaped, pa.array(map(json.encoder.encode_basestring, values),
                                                                  pa.large_string()))
        return pc.fill_null(texts, _large("null"))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.fill_null(pc.cast(column, pa.large_string()), _large("null"))  # as int.__repr__, and true/false
    if pa.types.is_floating(kind):
        return pa.array([_float_json(v) for v in column.to_pylist()], pa.large_string())
    return pa.array([json.dumps(_canonical(v), ensure_ascii=False) for v in column.to_pylist()], pa.large_string())


def _may_need_escapes(strings: pa.Array) -> bool:
    """False when no string of the array holds a character JSON escapes: a scan of its UTF-8 bytes.

    Bytes below 0x80 stand for themselves in UTF-8, so a quote, backslash
    or control byte anywhere in the data is such a character (or lies in
    the unused bytes of a null value: then True, which costs only time).
    """
    data = _utf8_bytes(strings)
    if data is None:
        return False
    utf8 = np.frombuffer(data, dtype=np.uint8)
    return bool((utf8 < 0x20).any() or (utf8 == ord('"')).any() or (utf8 == ord("\\")).any())


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _float_json(value: float | None) -> str:
    """``json.dumps(_canonical(value))`` of a float (or None), without the encoder's overhead."""
    if value is None or value != value:
        return "null"
    value = round(value, 9)
    return float.__repr__(value) if math.isfinite(value) else json.dumps(value)


def _utf8_pieces(strings: pa.Array | pa.ChunkedArray):
    """The UTF-8 bytes of every string of an array, concatenated in order, as views of its buffers (per chunk)."""
    for chunk in strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]:
        data = _utf8_bytes(chunk)
        if data is not None:
            yield data


def _utf8_bytes(strings: pa.Array) -> memoryview | None:
    """The UTF-8 bytes of the strings of a (large) string array, concatenated, as a view of its data buffer.

    None when there are none. (Bytes of null values lie there too,
    usually none.)
    """
    _, offsets, data = strings.buffers()
    if data is None or not len(strings):
        return None
    offsets = np.frombuffer(offsets, dtype=np.int64 if pa.types.is_large_string(strings.type) else np.int32)
    first, last = int(offsets[strings.offset]), int(offsets[strings.offset + len(strings)])
    return memoryview(data)[first:last] if last > first else None


def table_summary(name: str, out_dir: Path, arrow: pa.Table | None = None) -> dict[str, Any]:
    """Row count and content hash of a written table, as the manifest records it.

    ``arrow`` is the table's rows when at hand (as :func:`write_table`
    wrote them), else they are read from ``out_dir``.
    """
    table = schema.get(name)
    if arrow is None:
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
