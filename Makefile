# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test lint paper-dry-run clean-demo

# torch is pinned in the same pip command as everything else, so no dependency pulls a CUDA build.
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(BIN)/snakemake --configfile presets/demo.yaml --cores $(CORES)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/snakemake --configfile presets/demo.yaml --lint
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules/

paper-dry-run: $(VENV)/.installed
	$(BIN)/snakemake -n --quiet rules

clean-demo:
	rm -rf results/demo
