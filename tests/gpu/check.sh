#!/usr/bin/env bash
# The GPU checks, one call on a lent H100/H200 (not part of CI: CI machines have no GPU). From the repo root:
#   OUT=/some/folder [STEPS="bench stages-lora stages-full bench-flex"] tests/gpu/check.sh
# Wheels in .whl/ (transformers, peft, math-verify, jsonschema at our pins, for the image's Python) are installed
# first, where present. Each step has its own time limit, so one slow step does not cost the others' numbers.
set -uo pipefail
OUT=${OUT:?set OUT to a folder for the results}
mkdir -p "$OUT"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site || exit 1
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)" | tee -a "$OUT/gpu.txt"

step() {  # step <name> <seconds> <command...>: its log under $OUT, its exit status in the summary
    local name=$1 limit=$2; shift 2
    [[ " ${STEPS:-bench stages-lora stages-full bench-flex} " == *" $name "* ]] || return 0
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
step bench 200 python3 -m compress_distill.checks.benchmark --size qwen3-0.6b \
    --methods trainer trainer-padded sdpa-padded sdpa-packed --out "$OUT/bench"
step stages-lora 120 python3 -m compress_distill.checks.stagecheck --config presets/single-gpu.yaml --student qwen3_0.6b \
    --shape qwen3-0.6b --out /tmp/stages-lora
step stages-full 100 python3 -m compress_distill.checks.stagecheck --config presets/single-gpu.yaml --student qwen3_1.7b \
    --shape qwen3-0.6b --examples 1024 --out /tmp/stages-full
cp /tmp/stages-lora/stagecheck.json "$OUT/stages-lora.json" 2>/dev/null
cp /tmp/stages-full/stagecheck.json "$OUT/stages-full.json" 2>/dev/null
step bench-flex 90 python3 -m compress_distill.checks.benchmark --size qwen3-0.6b --methods trainer-flex \
    --out "$OUT/bench-flex"
cat "$OUT/summary.txt"
cat "$OUT"/bench*/benchmark.md
grep -h -E "tok/s" "$OUT"/bench*.log
tail -n 3 "$OUT"/*.log | grep -E "Error|error" | head -20
