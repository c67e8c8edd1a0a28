"""Config files as YAML, layered: a file may hold only what it changes over a preset — named by its ``base:`` key, or
given before it (``--configfile presets/X.yaml mine.yaml``; Snakemake merges mappings key by key, later files
winning) — and the merged config is validated. Errors name the file that set the key. A key written twice in one
mapping is an error naming the file, the line and the key (PyYAML, and so Snakemake, keeps the last one silently).
A relative prompt path names a file in the working directory, or else one the workflow ships (a workflow used as a
Snakemake module runs in a folder of its own)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from compress_distill.config.validation import PLACEHOLDERS, ConfigError, validate


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


def merged(base: dict, over: dict) -> dict:
    """``over`` layered on ``base``: mappings merged key by key, anything else replaced (Snakemake's rule for
    several ``--configfile``s)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def with_base(config: dict, root: Path) -> tuple[dict, list[Path]]:
    """``config`` layered on the file its ``base:`` key names (relative to the workflow folder ``root``), and the
    files that layer adds (a copy of ``config`` when it has no ``base:``)."""
    if "base" not in config:
        return dict(config), []
    path = root / config["base"]
    if not path.is_file():
        raise ConfigError(f"invalid config:\n  config key 'base': {path} does not exist")
    check([path])
    below = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if "base" in below:
        raise ConfigError(f"invalid config:\n  config key 'base': {path} has a base of its own; name the preset at "
                          "the bottom directly")
    return merged(below, {k: v for k, v in config.items() if k != "base"}), [path]


def _holds(data, key: tuple[str, ...]) -> bool:
    for part in key:
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return False
    return True


def naming_files(err: ConfigError, paths: list[Path]) -> ConfigError:
    """``err`` with each ``config key '…'`` line naming the last of ``paths`` that sets that key; a config missing
    required top-level keys is told how to layer it on a preset."""
    layers = [(path, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}) for path in paths]
    lines = []
    for line in str(err).splitlines():
        found = re.match(r"\s*config key '([^']*)'", line)
        setters = [path for path, data in layers if found and found.group(1) and _holds(data, tuple(
            found.group(1).split(".")))] if found else []
        lines.append(f"{line} (set in {setters[-1]})" if setters else line)
    if "is a required property" in str(err) and len(paths) == 1 and "base" not in layers[0][1]:
        lines.append(f"  {paths[0]} lacks keys every config needs: to change only some settings, layer it on a "
                     "preset — `base: presets/demo.yaml` in it, or `--configfile presets/demo.yaml <it>`")
    return ConfigError("\n".join(lines))


def validated(config: dict, configfiles: list[str], root: Path, schema: Path) -> dict:
    """The run's config, in place: the files checked for duplicated keys, layered on its ``base:``, validated with
    errors naming the file that set each bad key."""
    check(configfiles)
    layered, base_files = with_base(config, root)
    config.clear()
    config.update(layered)
    shipped_prompts(config, root)
    try:
        return validate(config, schema)
    except ConfigError as err:
        raise naming_files(err, [*base_files, *map(Path, configfiles)]) from None


def shipped_prompts(config: dict, root: Path) -> None:
    """Each relative prompt path that is no file here but one under ``root``, made that file's path, in place."""
    for section in PLACEHOLDERS:
        for block in config.get(section, {}).values():
            prompt = block.get("prompt") if isinstance(block, dict) else None
            if isinstance(prompt, str) and prompt and not Path(prompt).is_absolute() and not Path(prompt).is_file() \
                    and (root / prompt).is_file():
                block["prompt"] = str(root / prompt)
