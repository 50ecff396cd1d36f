# Fremtidens kulturskole: text-analysis pipeline.
# `make help` lists the targets. Every stage output is a real file target,
# so a change reruns only what depends on it.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
RAW_DIR := data/raw
OUT := data/processed
NORNE ?= ../shared/norne

RAW := $(sort $(wildcard $(RAW_DIR)/*.txt))
INGEST_CODE := $(wildcard pipeline/*.py pipeline/ingest/*.py)
SEEDS := $(shell find seeds -type f 2>/dev/null | sort)

.PHONY: help setup all test clean docs model bench lexicon names

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

setup: $(VENV_STAMP) ## Create .venv and install the project with its test tools

$(VENV_STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

all: setup $(OUT)/posts.parquet ## Set up and run the whole pipeline on data/raw into data/processed

$(OUT)/posts.parquet: $(VENV_STAMP) $(RAW) $(INGEST_CODE) $(SEEDS)
	$(PY) -m pipeline all --raw-dir $(RAW_DIR) --out-dir $(OUT)

test: setup ## Run the full test suite (what CI runs)
	$(PY) -m pytest

docs: setup ## Regenerate docs/data-dictionary.md from pipeline/schema.py
	$(PY) -m pipeline docs --out docs/data-dictionary.md

lexicon: ## Rebuild seeds/lexicon from NorNE and hunspell-no (maintainers; needs apt and ../shared/norne)
	apt-get install -y -qq hunspell-no hunspell-tools
	$(PY) scripts/build_lexicon.py

names: ## Rebuild seeds/names from NorNE's PER entities (maintainers; needs ../shared/norne)
	$(PY) scripts/build_name_lists.py $(NORNE)

clean: ## Remove generated tables and caches (keeps the committed MANIFEST.json and .venv)
	find $(OUT) -maxdepth 1 -name '*.parquet' -delete
	rm -rf $(OUT)/report $(OUT)/exports .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
