"""Values a config must never hold, found anywhere in it with the key that holds them: secrets (config is stored in
``.snakemake/metadata``, the manifest and every job's log) and non-finite numbers (YAML's ``.inf`` and ``.nan``, which
the schema's ``type: number`` accepts and no setting means)."""

from __future__ import annotations

import math
import re

SECRET_KEYS = ("api_key", "token", "password", "secret")
CREDENTIALS = (  # what a credential looks like inside a value
    ("a user or password in a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/@\s]+@", re.I)),
    ("a bearer token", re.compile(r"\bbearer\s+\S{8,}", re.I)),
    ("an API key", re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bhf_[A-Za-z0-9]{20,}|\bgh[pousr]_[A-Za-z0-9]{20,}"
                              r"|\bAKIA[0-9A-Z]{16}\b")),
)
WHERE_SECRETS_GO = ("secrets are never read from config (it is stored in .snakemake/metadata, the manifest and the "
                    "logs); put it in an environment variable and name that with 'api_key_env'")


def _leaves(obj, path=()):
    """(dotted key, value) of every key and scalar in ``obj``; a key as its own leaf (value None)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield ".".join((*path, str(k))), None
            yield from _leaves(v, (*path, str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, str(i)))
    else:
        yield ".".join(path), obj


def problems(config: dict) -> list[str]:
    """One line per secret-named key, credential-looking value and non-finite number, naming its key."""
    lines = []
    for key, value in _leaves(config):
        if value is None and key.rpartition(".")[2] in SECRET_KEYS:
            lines.append(f"config key '{key}': {WHERE_SECRETS_GO}")
        elif isinstance(value, str):
            lines += [f"config key '{key}': holds {what}; {WHERE_SECRETS_GO}"
                      for what, pattern in CREDENTIALS if pattern.search(value)]
        elif isinstance(value, float) and not math.isfinite(value):
            lines.append(f"config key '{key}': {value} is not a finite number")
    return lines
