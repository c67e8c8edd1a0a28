"""Prompt templates: a role's prompt file with its ``{name}`` placeholders filled."""

from __future__ import annotations


def fill_template(template: str, **fields: str) -> str:
    """Replace ``{name}`` placeholders only, so templates may contain other braces (``\\boxed{}``, JSON)."""
    for name, value in fields.items():
        template = template.replace("{" + name + "}", value)
    return template
