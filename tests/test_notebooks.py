"""The analysts' notebooks: stored without outputs, and each runs top to bottom on a pipeline run.

Notebooks are jupytext percent-format ``.py`` files in ``notebooks/`` (no
outputs can be stored in them); executed ``.ipynb`` copies are git-ignored
and must not carry outputs if one is kept. Each notebook is converted with
jupytext and executed with nbclient against the ``processed`` run
(``PIPELINE_OUT_DIR``); it must finish without error and show figures.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import config, load_table

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
TIMEOUT = 600
# Tables a notebook needs besides those it names in load_table calls (read inside library functions).
EXTRA_TABLES = {"03_validation": ["posts", "codebook", "theme_matrix", "tags"]}


def test_at_least_three_notebooks():
    assert [p.name for p in NOTEBOOKS][:3] == ["01_overview.py", "02_themes.py", "03_validation.py"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    text = path.read_text(encoding="utf-8")
    assert "format_name: percent" in text, f"{path.name}: not a jupytext percent-format notebook"
    assert "# %%" in text
    assert not re.search(r'"outputs":\s*\[\s*\{|"execution_count":\s*\d', text)
    stray = path.with_suffix(".ipynb")
    if stray.exists():
        import nbformat

        nb = nbformat.read(stray, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code"), \
            f"{stray.name} stores outputs: strip them (jupyter nbconvert --clear-output) or delete it"


def required_tables(path: Path) -> list[str]:
    """Tables a notebook loads unconditionally (``pipeline.load_table("name", ...)``)."""
    return sorted(set(re.findall(r'pipeline\.load_table\("(\w+)"', path.read_text(encoding="utf-8"))))


def missing_tables(names, out_dir) -> list[str]:
    missing = []
    for name in names:
        try:
            load_table(name, out_dir)
        except (KeyError, FileNotFoundError):
            missing.append(name)
    return missing


def run_notebook(path: Path, out_dir: Path, monkeypatch):
    """Execute a notebook with nbclient against ``out_dir``; returns the executed notebook."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("PIPELINE_OUT_DIR", str(out_dir))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, processed, monkeypatch):
    missing = missing_tables(sorted({*required_tables(path), *EXTRA_TABLES.get(path.stem, [])}), processed)
    if missing:
        pytest.skip(f"{path.name} needs table(s) {missing} that this pipeline run does not write yet")
    nb = run_notebook(path, processed, monkeypatch)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} shows no figure"
