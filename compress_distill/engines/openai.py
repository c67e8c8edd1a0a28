"""The ``openai`` engine: any OpenAI-compatible endpoint — a ``vllm serve`` started by the workflow or the user,
``transformers serve``, or a hosted API — through the official ``openai`` client.

``spec`` keys: ``base_url`` (…/v1), ``model``, ``mode`` (``chat`` | ``completions``), ``max_tokens``,
``temperature``, ``top_p``, ``concurrency`` (requests in flight), ``timeout_s``, ``max_retries``, ``api_key_env``
(the *name* of an environment variable holding the key; the key itself is never written anywhere), ``extra_body``
(merged into every request, e.g. vLLM's ``chat_template_kwargs``).

Each request carries its own ``seed`` (servers that honour it — vLLM does — give per-request reproducibility whatever
the batching). The client retries 408, 409, 429, 5xx, connection errors and timeouts with its exponential backoff
(0.5 s doubling to 8 s, or the server's ``Retry-After``); other 4xx answers are errors at once. A separate reasoning
field (vLLM's reasoning parsers: ``reasoning_content`` / ``reasoning``) is folded back into ``<think>…</think>`` so
that every later stage sees one format.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from compress_distill.core.trace import join_reasoning
from compress_distill.engines.interface import Completion, Request

DEFAULTS = {"mode": "chat", "temperature": 0.0, "top_p": 1.0, "concurrency": 8, "timeout_s": 600, "max_retries": 6,
            "extra_body": {}}
NO_KEY = "EMPTY"  # the client needs a key; local servers ignore it


class EndpointError(RuntimeError):
    pass


class OpenAIEngine:
    SETTINGS = ("model", "base_url", "serve", "max_tokens", "api_key_env", *DEFAULTS)  # config keys (schema)

    def __init__(self, spec: dict, base_url: str | None = None, model_path: str | None = None,
                 api_key: str | None = None, **_):
        import openai

        self.spec = {**DEFAULTS, **spec}
        if self.spec["mode"] not in ("chat", "completions"):
            raise ValueError(f"openai engine: mode must be 'chat' or 'completions', not {self.spec['mode']!r}")
        self.base_url = (base_url or self.spec["base_url"]).rstrip("/")
        self.model = model_path or self.spec["model"]
        key = api_key or NO_KEY  # a served model's own key
        if self.spec.get("api_key_env"):
            key = os.environ.get(self.spec["api_key_env"])
            if not key:
                raise EndpointError(f"openai engine: environment variable {self.spec['api_key_env']!r} is not set")
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.spec["timeout_s"],
                                    max_retries=self.spec["max_retries"])

    def request_kwargs(self, req: Request) -> dict:
        """The client call's arguments: sampling settings, the request's own seed, the prompt."""
        s = self.spec
        prompt = {"messages": req.messages} if s["mode"] == "chat" else {"prompt": req.messages[-1]["content"]}
        return {"model": self.model, "max_tokens": s["max_tokens"], "temperature": s["temperature"],
                "top_p": s["top_p"], "seed": req.seed, "extra_body": s["extra_body"] or None, **prompt}

    def _one(self, req: Request) -> Completion:
        import openai

        endpoint = self.client.chat.completions if self.spec["mode"] == "chat" else self.client.completions
        try:
            response = endpoint.create(**self.request_kwargs(req))
        except openai.APIStatusError as err:
            raise EndpointError(f"{self.base_url} answered request {req.id} with HTTP {err.status_code} "
                                f"(after {self.spec['max_retries']} retries where retryable): {err.message[:500]}") \
                from None
        except openai.APIConnectionError as err:
            raise EndpointError(f"{self.base_url} unreachable for request {req.id} after "
                                f"{self.spec['max_retries'] + 1} attempts: {err}") from None
        return parse_response(req.id, response.model_dump(), self.spec["mode"])

    def generate(self, requests_: list[Request]) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=self.spec["concurrency"]) as pool:
            return list(pool.map(self._one, requests_))


def parse_response(req_id: str, data: dict, mode: str) -> Completion:
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(f"request {req_id}: response has no choices: {str(data)[:300]}") from None
    if mode == "chat":
        message = choice.get("message") or {}
        content = message.get("content") or ""
        reasoning = next((message[k] for k in ("reasoning_content", "reasoning") if message.get(k) is not None), None)
    else:
        content, reasoning = choice.get("text") or "", None
    finish = "length" if choice.get("finish_reason") == "length" else "stop"
    tokens = (data.get("usage") or {}).get("completion_tokens")
    return Completion(req_id, join_reasoning(content, reasoning), finish, completion_tokens=tokens,
                      reasoning=reasoning)
