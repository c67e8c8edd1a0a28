"""The ``openai`` engine: any OpenAI-compatible endpoint — a ``vllm serve`` started by the workflow or the user,
``transformers serve``, or a hosted API.

``spec`` keys: ``base_url`` (…/v1), ``model``, ``mode`` (``chat`` | ``completions``), ``max_tokens``,
``temperature``, ``top_p``, ``concurrency`` (requests in flight), ``timeout_s``, ``max_retries``, ``backoff_s``,
``api_key_env`` (the *name* of an environment variable holding the key; the key itself is never written anywhere),
``extra_body`` (merged into every request, e.g. vLLM's ``chat_template_kwargs``).

Each request carries its own ``seed`` (servers that honour it — vLLM does — give per-request reproducibility whatever
the batching). 429, 5xx, connection resets and timeouts are retried with exponential backoff; other 4xx answers are
errors at once. A separate reasoning field (vLLM's reasoning parsers: ``reasoning_content`` / ``reasoning``) is
folded back into ``<think>…</think>`` so that every later stage sees one format.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from ..engine import Completion, Request, join_reasoning

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
DEFAULTS = {"mode": "chat", "temperature": 0.0, "top_p": 1.0, "concurrency": 8, "timeout_s": 600, "max_retries": 6,
            "backoff_s": 1.0, "extra_body": {}}


class EndpointError(RuntimeError):
    pass


class OpenAIEngine:
    SETTINGS = ("model", "base_url", "serve", "max_tokens", "api_key_env", *DEFAULTS)  # config keys (schema)

    def __init__(self, spec: dict, base_url: str | None = None, model_path: str | None = None, **_):
        self.spec = {**DEFAULTS, **spec}
        self.base_url = (base_url or self.spec["base_url"]).rstrip("/")
        self.model = model_path or self.spec["model"]
        self.headers = {"Content-Type": "application/json"}
        if self.spec.get("api_key_env"):
            key = os.environ.get(self.spec["api_key_env"])
            if not key:
                raise EndpointError(f"openai engine: environment variable {self.spec['api_key_env']!r} is not set")
            self.headers["Authorization"] = f"Bearer {key}"
        self.session = requests.Session()

    def payload(self, req: Request) -> tuple[str, dict]:
        s = self.spec
        body = {"model": self.model, "max_tokens": s["max_tokens"], "temperature": s["temperature"],
                "top_p": s["top_p"], "seed": req.seed, **s["extra_body"]}
        if s["mode"] == "chat":
            return "/chat/completions", {**body, "messages": req.messages}
        if s["mode"] == "completions":
            return "/completions", {**body, "prompt": req.messages[-1]["content"]}
        raise ValueError(f"openai engine: mode must be 'chat' or 'completions', not {s['mode']!r}")

    def _post(self, path: str, body: dict) -> dict:
        s, last = self.spec, None
        for attempt in range(s["max_retries"] + 1):
            if attempt:
                time.sleep(s["backoff_s"] * 2 ** (attempt - 1))
            try:
                resp = self.session.post(self.base_url + path, json=body, headers=self.headers, timeout=s["timeout_s"])
            except (requests.ConnectionError, requests.Timeout) as err:
                last = f"{type(err).__name__}: {err}"
                continue
            if resp.status_code in RETRY_STATUS:
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                continue
            if resp.status_code >= 400:
                raise EndpointError(f"{self.base_url}{path} answered HTTP {resp.status_code}: {resp.text[:500]}")
            return resp.json()
        raise EndpointError(f"{self.base_url}{path} failed after {s['max_retries'] + 1} attempts; last: {last}")

    def _one(self, req: Request) -> Completion:
        path, body = self.payload(req)
        return parse_response(req.id, self._post(path, body), self.spec["mode"])

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
