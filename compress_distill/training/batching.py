"""Training examples as token rows, and how a step's examples are laid into micro-batches (pure functions).

An example is (input ids, labels): the chat prompt masked with ``IGNORE``, the completion and its end-of-turn token
trained. A micro-batch holds at most ``max_tokens_per_microbatch`` tokens — padding-free packed rows (per-document
positions) or right-padded rows.
"""

from __future__ import annotations

IGNORE = -100


def encode_examples(tokenizer, pairs: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per (question, completion): the chat prompt masked, the completion and its end-of-turn
    token trained. Prompts and completions are tokenized in one batch each (a third faster than one by one)."""
    if not pairs:
        return []
    prompts = tokenizer.apply_chat_template([[{"role": "user", "content": q}] for q, _ in pairs],
                                            add_generation_prompt=True, tokenize=True, return_dict=False)
    answers = tokenizer([c + tokenizer.eos_token for _, c in pairs], add_special_tokens=False)["input_ids"]
    return [(prompt + answer, [IGNORE] * len(prompt) + answer) for prompt, answer in zip(prompts, answers)]


def within_max_length(encoded: list[tuple[list[int], list[int]]], max_length: int) -> list[int]:
    """Indices of the examples that fit ``max_length`` whole. A longer one is dropped (and counted by the caller),
    never cut: a cut example loses its answer and its stop token. A ``max_length`` that leaves no room after the
    longest prompt is a config error."""
    longest_prompt = max(labels.count(IGNORE) for _, labels in encoded)
    if longest_prompt >= max_length:
        raise ValueError(f"config key 'training.max_length': {max_length} tokens leaves no room for a completion after "
                         f"the longest prompt ({longest_prompt} tokens); raise it")
    kept = [i for i, (ids, _) in enumerate(encoded) if len(ids) <= max_length]
    if not kept:
        raise ValueError(f"config key 'training.max_length': every one of the {len(encoded)} examples is longer than "
                         f"{max_length} tokens (shortest {min(len(ids) for ids, _ in encoded)}); raise it")
    return kept


def micro_batches(examples: list[tuple[list[int], list[int]]], budget: int, packed: bool) -> list[list[int]]:
    """Indices of ``examples`` grouped (shortest first, deterministic) so that each group stays within ``budget``
    tokens: its total length when packed, its padded size (n · longest) otherwise. A longer example goes alone."""
    groups, current, longest, total = [], [], 0, 0
    for i in sorted(range(len(examples)), key=lambda i: len(examples[i][0])):
        n = len(examples[i][0])
        size = total + n if packed else (len(current) + 1) * max(longest, n)
        if current and size > budget:
            groups.append(current)
            current, longest, total = [], 0, 0
        current.append(i)
        longest, total = max(longest, n), total + n
    return groups + [current] if current else groups


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict:
    """Right-padded rows with an attention mask."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), IGNORE)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (x, y) in enumerate(batch):
        ids[row, : len(x)], labels[row, : len(y)], mask[row, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def collate_packed(batch: list[tuple[list[int], list[int]]]) -> dict:
    """One padding-free row: documents concatenated, positions restarting at 0 for each, and no attention mask, so
    transformers derives per-document causal masks from the positions (flash-attention varlen where installed).
    Each document's first token is never a target, so no token is predicted from another document."""
    import torch

    ids = [t for x, _ in batch for t in x]
    labels = [t for _, y in batch for t in [IGNORE, *y[1:]]]
    positions = [p for x, _ in batch for p in range(len(x))]
    return {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels]),
            "position_ids": torch.tensor([positions])}


def packing_supported(model) -> bool:
    """Whether position_ids alone keep packed documents apart in ``model``. Linear-attention layers (Qwen3.5 /
    Qwen3-Next hybrids) carry a recurrent state along the row that positions do not reset, so those models train
    padded instead."""
    config = model.config
    layer_types = getattr(getattr(config, "text_config", config), "layer_types", None) or []
    return all(t in ("full_attention", "sliding_attention") for t in layer_types)


def occupied_tokens(rows, packed: bool) -> int:
    """Tokens a micro-batch occupies: its real tokens when packed, rows × longest when padded."""
    lengths = [len(x) for x, _ in rows]
    return sum(lengths) if packed else len(lengths) * max(lengths)


def step_layout(step_examples: list, world: int, budget: int, packed: bool):
    """Each worker's micro-batches (lists of rows) for one step — worker w takes every world-th example — and the
    real and occupied tokens of all workers' micro-batches together."""
    layouts = [[[mine[i] for i in group] for group in micro_batches(mine, budget, packed)]
               for mine in (step_examples[w::world] for w in range(world))]
    everything = [rows for layout in layouts for rows in layout]
    return (layouts, sum(len(x) for rows in everything for x, _ in rows),
            sum(occupied_tokens(rows, packed) for rows in everything))
