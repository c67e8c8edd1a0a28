"""Config files as YAML: a key written twice in one mapping is an error naming the file, the line and the key.
(PyYAML, and so Snakemake, keeps the last one silently: an override meant for one block can replace another's.)"""

from __future__ import annotations

from pathlib import Path

import yaml

from compress_distill.config.validation import ConfigError


class _Strict(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _mapping(loader: _Strict, node: yaml.MappingNode) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            loader.duplicates.append(f"line {key_node.start_mark.line + 1}: key {key!r} is written twice in one "
                                     f"mapping (first on line {seen[key]}); YAML would keep the last silently")
        seen.setdefault(key, key_node.start_mark.line + 1)
    return loader.construct_mapping(node, deep=True)


_Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def duplicate_keys(path: str | Path) -> list[str]:
    loader = _Strict(Path(path).read_text(encoding="utf-8"))
    loader.duplicates = []
    try:
        loader.get_single_data()
    finally:
        loader.dispose()
    return [f"config file {path}, {line}" for line in loader.duplicates]


def check(paths) -> None:
    """ConfigError listing every duplicated key of the config files ``paths``."""
    lines = [line for path in paths for line in duplicate_keys(path)]
    if lines:
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
