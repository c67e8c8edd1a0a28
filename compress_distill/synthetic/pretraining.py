"""The demo students' pre-training corpus: the synthetic world's one-step facts, never a two-step problem."""

from __future__ import annotations

from compress_distill.core.trace import answer_line, join_reasoning
from compress_distill.synthetic.arithmetic import fact_line, single_step_facts
from compress_distill.synthetic.teacher import language_documents


def pretraining_documents(arithmetic: dict, tokenizer) -> list[str]:
    """Every one-step fact three times: as a plain line, as a one-step chat exchange in the traces' format (chat
    markers, a ``<think>`` block, the boxed answer line, end of turn), and in the synthetic teachers' sentences
    (:func:`compress_distill.synthetic.teacher.language_documents`) — never a two-step problem. A LoRA student cannot learn the
    embedding of a token its pre-training never used (measured: the demo's LoRA student fitted compressed traces to
    a loss of 1.3 after facts alone, 0.01–0.03 with the exchanges; verbose raw traces to 1.25–1.44 in 4 epochs
    without the sentences, 0.14 in 2 with them)."""
    def exchange(a, op, b, r):
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": f"Compute {a} {op} {b}."}],
                                               add_generation_prompt=True, tokenize=False)
        return prompt + join_reasoning(answer_line(str(r)), f"{a} {op} {b} = {r}.") + tokenizer.eos_token

    facts = single_step_facts(arithmetic)
    return [fact_line(*fact) for fact in facts] + [exchange(*fact) for fact in facts] + language_documents(facts)
