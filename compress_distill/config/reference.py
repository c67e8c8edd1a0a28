"""The config reference, generated from the schema: every key with its type, default and description.

``python -m compress_distill.config.reference docs/config.md`` (``make config-docs``) writes it; a test fails when a
key has no description or the committed page differs from the schema's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from compress_distill.config.validation import SCHEMA, load_schema

ANY = "<name>"  # a key the user names (a teacher, a student, …)


def _resolve(node: dict, schema: dict) -> dict:
    ref = node.get("$ref")
    if not ref:
        return node
    target = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    # the referring node's own description and default win over the definition's
    return {**_resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}


def _children(node: dict, schema: dict):
    """(key, its schema) under an object node, through its properties, per-kind branches and named entries."""
    for key, sub in node.get("properties", {}).items():
        yield key, sub
    for branch in node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", []):
        branch = _resolve(branch, schema)
        yield from _children(branch.get("then", branch), schema)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        yield ANY, extra
    items = node.get("items")
    if isinstance(items, dict) and _resolve(items, schema).get("properties"):
        yield "[]", items


def keys(schema: dict) -> dict[str, dict]:
    """Every key path (``teachers.<name>.engine.kind``) with its (resolved) schema, in schema order."""
    found: dict[str, dict] = {}

    def walk(node: dict, prefix: str, seen: frozenset) -> None:
        for key, sub in _children(node, schema):
            ref = sub.get("$ref")
            resolved = _resolve(sub, schema)
            path = f"{prefix}.{key}" if prefix else key
            path = path.replace(".[]", "[]")
            if path in found:
                found[path] = {**resolved, **{k: v for k, v in found[path].items() if k == "description"}}
            else:
                found[path] = resolved
            if ref not in seen:
                walk(resolved, path, seen | {ref} if ref else seen)

    walk(schema, "", frozenset())
    return found


def undocumented(schema: dict) -> list[str]:
    return [path for path, node in keys(schema).items() if not node.get("description")]


def _type(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join(json.dumps(v) for v in node["enum"])
    kind = node.get("type", "object" if "properties" in node else "")
    return " \\| ".join(kind) if isinstance(kind, list) else kind


def render(schema: dict) -> str:
    lines = ["# Configuration reference", "",
             "Generated from `schemas/config.schema.yaml` by `make config-docs`; do not edit by hand. "
             f"`{ANY}` is a name you choose (a teacher, a compressor, a student, …).", "",
             schema["description"].strip(), "", "| key | type | default | description |", "|---|---|---|---|"]
    for path, node in keys(schema).items():
        default = json.dumps(node["default"]) if "default" in node else ""
        text = " ".join(str(node.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `{path}` | {_type(node)} | {default.replace('|', chr(92) + '|')} | {text} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.config.reference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the page to write, e.g. docs/config.md")
    args = parser.parse_args(argv)
    schema = load_schema(SCHEMA)
    missing = undocumented(schema)
    if missing:
        print(f"config reference: {len(missing)} key(s) have no description in {SCHEMA}: {', '.join(missing)}",
              file=sys.stderr)
        return 1
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render(schema), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
