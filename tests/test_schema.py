"""The declared schema: one declaration per table, and the data dictionary generated from it."""
from __future__ import annotations

import pytest

from pipeline import config, schema


@pytest.mark.parametrize("name", sorted(schema.TABLES))
def test_primary_key_columns_are_declared_and_not_null(name):
    table = schema.TABLES[name]
    for column in table.primary_key:
        assert not table.column(column).nullable, f"{name}.{column}"


def test_data_dictionary_is_up_to_date():
    """docs/data-dictionary.md is generated from pipeline/schema.py (`make docs`)."""
    path = config.PROJECT_ROOT / "docs" / "data-dictionary.md"
    assert path.read_text(encoding="utf-8") == schema.data_dictionary_markdown(), "run `make docs`"
