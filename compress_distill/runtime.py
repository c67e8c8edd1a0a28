"""What every rule script does first: send output to the rule's log, pin torch's threads, seed."""

from __future__ import annotations

import logging
import os
import sys


def start(smk, name: str) -> logging.Logger:
    """Log to ``smk.log[0]`` (stdout and stderr too, so library warnings and progress bars land there), and pin
    torch's thread count to the job's ``threads`` so results do not depend on where the job ran."""
    log_path = smk.log[0]
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    stream = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    threads = str(max(1, int(smk.threads)))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM"):
        os.environ[var] = "false" if var == "TOKENIZERS_PARALLELISM" else threads
    if "torch" in sys.modules or name in ("pretrain", "train", "evaluate", "tokenizer", "compress", "truncate"):
        import torch

        torch.set_num_threads(int(threads))
        torch.use_deterministic_algorithms(True, warn_only=True)
    return logging.getLogger(name)
