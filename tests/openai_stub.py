"""A local OpenAI-compatible server for tests: answers every question, after scripted faults."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ["http500", "http429", "reset", "slow"]


def answer_for(question: str) -> str:
    return f"\\boxed{{{len(question)}}}"


class FlakyServer(ThreadingHTTPServer):
    """Answers every question correctly, but the first attempts of most questions fail in turn: 5xx, 429,
    a connection reset, a reply slower than the client's timeout."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.attempts, self.faults, self.auth = Counter(), Counter(), []
        self.lock = threading.Lock()

    def plan(self, question: str, attempt: int) -> str | None:
        if question == "bad request":
            return None
        n_faults = sum(map(ord, question)) % (len(FAULTS) + 1)
        return FAULTS[attempt] if attempt < n_faults else None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        server = self.server
        with server.lock:
            attempt = server.attempts[question]
            server.attempts[question] += 1
            server.auth.append(self.headers.get("Authorization"))
        fault = server.plan(question, attempt)
        if fault:
            server.faults[fault] += 1
        if fault == "reset":
            self.connection.shutdown(2)
            return
        if fault == "slow":
            time.sleep(1.0)
        if fault in ("http500", "http429"):  # with a short Retry-After, which the client honours
            self._send(500 if fault == "http500" else 429, b"try later", {"retry-after-ms": "10"})
            return
        if question == "bad request":
            self._send(400, b"no such model")
            return
        message = {"role": "assistant", "content": answer_for(question), "reasoning_content": f"thinking {body['seed']}"}
        reply = {"choices": [{"message": message, "text": answer_for(question), "finish_reason": "stop"}],
                 "usage": {"completion_tokens": 7}}
        self._send(200, json.dumps(reply).encode())

    def _send(self, status: int, data: bytes, headers: dict | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
