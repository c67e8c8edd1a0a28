#!/usr/bin/env bash
# The GPU checks, one call on a lent H100/H200 (not part of CI: CI machines have no GPU), about 8 minutes. First,
# here: `python tests/gpu/wheels.py .whl` (the wheels the image lacks, at our pins; carried, git-ignored). There:
#   OUT=/some/folder [STEPS="bench profile e2e"] [SIZE=qwen3-0.6b] [E2E=tests/gpu/e2e.yaml] [E2E_LIMIT=210] tests/gpu/check.sh
# (SIZE=tiny and a CPU-sized E2E run the same script on a CPU machine, to check it before a device call)
# Each step has its own time limit, so one slow step does not cost the others' numbers; everything lands in $OUT
# (8 files at most): gpu.txt, summary.txt, benchmark.{csv,md}, profile.md, e2e_stages.md, e2e_manifest.json,
# logs.tar.gz.
set -uo pipefail
OUT=${OUT:?set OUT to a folder for the results}
WORK=$(mktemp -d)  # logs and the benchmark's full output, before what comes back is picked into $OUT
mkdir -p "$OUT" "$WORK/gpu-logs"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH || exit 1
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
SIZE=${SIZE:-qwen3-0.6b} E2E=${E2E:-tests/gpu/e2e.yaml}
RUN=results/$(python3 -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['run'])" "$E2E")
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv >"$OUT/gpu.txt" 2>&1 \
    || echo "no GPU: $(python3 -c 'import platform; print(platform.processor() or platform.machine())')" >"$OUT/gpu.txt"
python3 -c "import torch, transformers, peft, snakemake; print('torch', torch.__version__, 'transformers', \
transformers.__version__, 'peft', peft.__version__, 'snakemake', snakemake.__version__)" | tee -a "$OUT/gpu.txt"

step() {  # step <name> <seconds> <command...>: its log kept, its exit status and time in the summary
    local name=$1 limit=$2; shift 2
    [[ " ${STEPS:-bench profile e2e} " == *" $name "* ]] || return 0
    local start=$SECONDS
    timeout "$limit" "$@" >"$WORK/gpu-logs/$name.log" 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
step bench 210 python3 -m compress_distill.checks.benchmark --size "$SIZE" --out "$WORK/bench"
cp "$WORK/bench/benchmark.csv" "$WORK/bench/benchmark.md" "$OUT/" 2>/dev/null
step profile 60 python3 -m compress_distill.checks.profile --size "$SIZE" \
    --methods trainer-masked trainer-varlen-fused-all --out "$OUT/profile.md"
step e2e "${E2E_LIMIT:-210}" python3 -m snakemake --configfile "$E2E" --cores "$(nproc)" --resources gpu=1
python3 -m compress_distill.checks.stage_times "$RUN" >"$OUT/e2e_stages.md" 2>&1
cp "$RUN/manifest.json" "$OUT/e2e_manifest.json" 2>/dev/null
tar -czf "$OUT/logs.tar.gz" -C "$WORK" gpu-logs -C "$PWD" $(ls -d "$RUN/logs" "$RUN/tables" 2>/dev/null)
cat "$OUT/summary.txt" "$OUT/benchmark.md" "$OUT/e2e_stages.md" 2>/dev/null
grep -h -E "Error|error" "$WORK"/gpu-logs/*.log | head -20
