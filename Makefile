# Fremtidens kulturskole: text-analysis pipeline.
# `make help` lists the targets. Stage outputs are real file targets (stamps under
# data/processed/.make), so a change reruns only what depends on it: a new or edited export,
# code, seeds or model rerun the pipeline (boards already processed by the same code come
# from the private cache); an edit of seeds/codebook.yaml only re-codes.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
RAW_DIR := data/raw
OUT := data/processed
PRIVATE := data/private
STAMPS := $(OUT)/.make
JOBS ?= 2
# make bench: runs per corpus of the pipeline and of the model alone (the fastest of each is compared)
REPEAT ?= 3
NORNE ?= ../shared/norne

RAW := $(sort $(wildcard $(RAW_DIR)/*.txt))
CODE := $(shell find pipeline -name '*.py' -not -path '*/__pycache__/*' | sort)
TAG_CODE := pipeline/tag.py pipeline/segment.py pipeline/codebook.py
CODEBOOK := seeds/codebook.yaml
SEEDS := $(filter-out $(CODEBOOK),$(shell find seeds -type f | sort))
MODEL := $(shell find models -type f 2>/dev/null | sort)

.PHONY: help setup all test clean docs evaluate agreement model bench notebooks lexicon names

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

setup: $(VENV_STAMP) ## Create .venv and install the project with its test tools

$(VENV_STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

all: setup $(STAMPS)/tag ## Set up and run the whole pipeline on data/raw into data/processed

$(STAMPS)/pipeline: $(VENV_STAMP) $(RAW) $(filter-out $(TAG_CODE),$(CODE)) $(SEEDS) $(MODEL)
	$(PY) -m pipeline all --raw-dir $(RAW_DIR) --out-dir $(OUT) --private-dir $(PRIVATE) \
		--cache-dir $(PRIVATE)/cache --jobs $(JOBS)
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/tag: $(STAMPS)/pipeline $(CODEBOOK) $(TAG_CODE)
	$(PY) -m pipeline tag --out-dir $(OUT)
	@touch $@

test: setup ## Run the full test suite (what CI runs)
	$(PY) -m pytest

evaluate: all ## Score the coding against the hand coding (report in data/processed/evaluation.md)
	$(PY) -m pipeline evaluate --gold tests/fixtures/gold-dev.csv --out-dir $(OUT)

agreement: setup ## Agreement between the two independent hand codings (report in data/processed/agreement/)
	$(PY) -m pipeline evaluate --gold tests/fixtures/gold-dev.csv --against tests/fixtures/gold-dev-coder2.csv \
		--out-dir $(OUT) --report-dir $(OUT)/agreement

notebooks: all ## Run the analysts' notebooks top to bottom on data/processed
	$(PY) -m pytest -q tests/test_notebooks.py

bench: setup ## Benchmark on synthetic corpora 10x and 100x the seed boards (writes bench/results.json)
	OMP_NUM_THREADS=1 $(PY) training/speed.py
	OMP_NUM_THREADS=1 $(PY) scripts/bench_normalise.py
	OMP_NUM_THREADS=1 $(PY) bench/bench.py --factors 10 100 --jobs $(JOBS) --repeat $(REPEAT) --out bench/results.json

model: setup ## Retrain the language model from the treebank (NORNE=../shared/norne; ~1 h on one core; not in CI)
	$(PY) training/convert.py --norne $(NORNE) --out training/corpus
	OMP_NUM_THREADS=1 $(PY) -m spacy train training/config.cfg --output training/output \
		--paths.train training/corpus/train.spacy --paths.dev training/corpus/dev.spacy
	$(PY) training/finalize.py training/output/model-best models/nb_kulturskole
	$(PY) training/evaluate.py --norne $(NORNE)

docs: setup ## Regenerate docs/data-dictionary.md from pipeline/schema.py
	$(PY) -m pipeline docs --out docs/data-dictionary.md

lexicon: setup ## Rebuild seeds/lexicon from NorNE and hunspell-no (maintainers; needs apt and ../shared/norne)
	apt-get install -y -qq hunspell-no hunspell-tools
	$(PY) scripts/build_lexicon.py

names: setup ## Rebuild seeds/names from NorNE's PER entities (maintainers; needs ../shared/norne)
	$(PY) scripts/build_name_lists.py $(NORNE)

clean: ## Remove generated tables, report, exports and caches (keeps the committed MANIFEST.json and .venv)
	find $(OUT) -maxdepth 1 -name '*.parquet' -delete
	rm -rf $(OUT)/report $(OUT)/exports $(OUT)/agreement $(OUT)/evaluation* $(STAMPS) $(PRIVATE)/cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
