"""What every rule script does first: send output to the rule's log and pin thread counts."""

from __future__ import annotations

import logging
import os
import sys


def start(smk, name: str, uses_torch: bool = False) -> logging.Logger:
    """Log to ``smk.log[0]`` (stdout and stderr too, so library warnings and progress bars land there), and pin
    thread counts to the job's ``threads`` so results do not depend on where the job ran."""
    log_path = smk.log[0]
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    open(log_path, "w").close()
    # append mode: a served model's output goes to the same log without overwriting each other
    stream = open(log_path, "a", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    threads = max(1, int(smk.threads))
    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    if uses_torch:
        import torch

        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
    return logging.getLogger(name)
