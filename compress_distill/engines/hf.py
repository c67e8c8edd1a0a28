"""The ``hf`` engine: transformers ``generate``, batched, on CPU or GPU; it serves trained students (a LoRA student
is loaded onto its base and merged)."""

from __future__ import annotations

from compress_distill.engines.interface import Completion, Request
from compress_distill.models.student import load_student


class HFEngine:
    """transformers ``generate``; ``spec`` keys: max_new_tokens, batch_size, temperature (0 = greedy)."""

    SETTINGS = ("model", "max_new_tokens", "batch_size", "temperature")  # config keys (schema)

    def __init__(self, spec: dict, model_path: str | None = None, **_):
        import os

        import torch

        from compress_distill.numerics.pins import pin_torch

        pin_torch(int(os.environ.get("OMP_NUM_THREADS", "1")))  # runtime.start set it from the rule's threads
        self.spec = spec
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        # bf16 on a GPU, as vLLM serves; float32 on CPU, where bf16 matmuls are slow and vary by instruction set
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.model, self.tokenizer = load_student(model_path or spec["model"], dtype)
        self.tokenizer.padding_side = "left"
        self.model.to(self.device)

    def _batch(self, requests: list[Request]) -> list[Completion]:
        import torch

        prompts = [self.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False)
                   for r in requests]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        greedy = self.spec.get("temperature", 0) == 0
        if not greedy:  # sampling: one seed per batch, so batches stay reproducible
            torch.manual_seed(requests[0].seed)
        with torch.no_grad():
            out = self.model.generate(
                **enc, max_new_tokens=self.spec["max_new_tokens"], do_sample=not greedy,
                temperature=None if greedy else self.spec["temperature"], top_p=None, top_k=None,
                eos_token_id=self.tokenizer.eos_token_id, pad_token_id=self.tokenizer.pad_token_id,
            )
        completions = []
        for req, row in zip(requests, out[:, enc["input_ids"].shape[1] :].tolist()):
            eos = self.tokenizer.eos_token_id
            stopped = eos in row
            row = row[: row.index(eos) + 1] if stopped else row
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            completions.append(Completion(req.id, text, "stop" if stopped else "length", completion_tokens=len(row)))
        return completions

    def generate(self, requests: list[Request]) -> list[Completion]:
        size = self.spec["batch_size"]
        return [c for i in range(0, len(requests), size) for c in self._batch(requests[i : i + size])]
