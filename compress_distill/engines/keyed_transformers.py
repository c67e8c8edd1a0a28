"""``transformers serve`` that answers only requests carrying the job's key: the same command line, run as
``python -m compress_distill.engines.keyed_transformers serve <model> …``, its FastAPI app given one more middleware
before it starts. The key comes from the server's environment (``engines.server.SERVE_KEY``), never from its command
line, which other users of the node can list; ``/health`` stays open for the job's start-up check.
"""

from __future__ import annotations

import os
import sys

from compress_distill.engines.server import SERVE_KEY

OPEN_PATHS = ("/health",)


def with_key(build_server, key: str):
    """``build_server`` whose app refuses (401) every request but ``OPEN_PATHS`` without ``Bearer <key>``."""

    def build(*args, **kwargs):
        from fastapi.responses import JSONResponse

        app = build_server(*args, **kwargs)

        @app.middleware("http")
        async def require_key(request, call_next):
            if request.url.path not in OPEN_PATHS and request.headers.get("authorization") != f"Bearer {key}":
                return JSONResponse({"error": "missing or wrong API key"}, status_code=401)
            return await call_next(request)

        return app

    return build


def main() -> None:
    from transformers.cli import transformers as cli
    from transformers.cli.serving import server

    key = os.environ.get(SERVE_KEY)
    if not key:
        sys.exit(f"keyed_transformers: {SERVE_KEY} is not set; refusing to serve without a key")
    server.build_server = with_key(server.build_server, key)  # transformers serve imports it when it starts
    sys.argv = ["transformers", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
