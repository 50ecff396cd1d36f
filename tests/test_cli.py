"""The command line: every subcommand teaches with --help and an example, and `all` runs."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline import config
from pipeline.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", sorted(c.name for c in app.registered_commands))
def test_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: python -m pipeline" in result.output


def test_all_writes_tables(tmp_path):
    result = runner.invoke(app, ["all", "--raw-dir", str(config.RAW_DIR), "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "posts.parquet").exists()


def test_strict_names_the_bad_file(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "oops.txt").write_text("hello\n", encoding="utf-8")
    result = runner.invoke(app, ["all", "--raw-dir", str(tmp_path / "raw"), "--out-dir", str(tmp_path / "out"), "--strict"])
    assert result.exit_code == 2
    assert "oops.txt" in result.output
