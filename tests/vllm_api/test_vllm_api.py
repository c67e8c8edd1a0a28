"""Our vLLM arguments against the real vLLM API (``make test-vllm`` installs vLLM in its own venv, ``.venv-vllm``;
it installs on CPU machines, although it cannot generate there): the ``SamplingParams`` and ``LLM`` keyword arguments
the ``vllm`` engine builds, and the server command line a served model starts, parsed by vLLM's own parser.
Skipped where vLLM is not installed, unless ``REQUIRE_VLLM=1`` (the Make target) makes that a failure."""

from __future__ import annotations

import dataclasses
import os

import pytest

# no GPU here: vLLM's CPU platform, so that its argument parser can build its device defaults
os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
if os.environ.get("REQUIRE_VLLM") != "1":
    pytest.importorskip("vllm")
import vllm  # noqa: E402

assert hasattr(vllm, "SamplingParams"), f"'vllm' is not vLLM here but {vllm.__path__}"  # not a folder of ours

from compress_distill.engines import server  # noqa: E402
from compress_distill.engines import vllm as vllm_engine  # noqa: E402

# every key the engine reads from config, with values of the right kind
SPEC = {"kind": "vllm", "model": "org/model", "tensor_parallel_size": 2, "pipeline_parallel_size": 1,
        "data_parallel_size": 1, "max_model_len": 8192, "gpu_memory_utilization": 0.85, "dtype": "bfloat16",
        "seed": 0, "enable_lora": True, "trust_remote_code": False, "max_tokens": 100, "temperature": 0.6,
        "top_p": 0.95, "top_k": 20, "min_p": 0.05, "repetition_penalty": 1.05, "enforce_eager": True}


def test_the_installed_vllm_version(capsys):
    with capsys.disabled():
        print(f"\nvLLM {vllm.__version__}")
    assert vllm.__version__


def test_every_engine_key_is_used():
    assert set(vllm_engine.LLM_KEYS) | set(vllm_engine.SAMPLING_KEYS) <= set(SPEC)


def test_sampling_params_accept_our_arguments():
    kwargs = vllm_engine.sampling_kwargs(SPEC, seed=42)
    params = vllm.SamplingParams(**kwargs)
    for key, value in kwargs.items():
        assert getattr(params, key) == value, key


def test_engine_arguments_accept_our_llm_arguments(tmp_path):
    """``LLM(**kwargs)`` hands what it does not name itself to ``EngineArgs``: each of ours must be a field there.
    The model is a local folder, as the workflow hands it (no hub look-up)."""
    from vllm.engine.arg_utils import EngineArgs

    kwargs = vllm_engine.llm_kwargs(SPEC, str(tmp_path))
    fields = {f.name for f in dataclasses.fields(EngineArgs)}
    assert set(kwargs) <= fields, sorted(set(kwargs) - fields)
    args = EngineArgs(**kwargs)
    for key, value in kwargs.items():
        assert getattr(args, key) == value, key


def _server_parser():
    """The parser ``python -m vllm.entrypoints.openai.api_server`` builds (its module moved between releases)."""
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    import importlib

    for module in ("vllm.entrypoints.common.cli_args", "vllm.entrypoints.launchers.cli_args",
                   "vllm.entrypoints.openai.cli_args"):  # 0.33, then earlier releases
        try:
            make_arg_parser = importlib.import_module(module).make_arg_parser
            break
        except ImportError:
            continue
    else:
        raise ImportError("vLLM's OpenAI server parser (make_arg_parser) moved again")
    return make_arg_parser(FlexibleArgumentParser(prog="api_server"))


def test_vllm_serve_parses_our_command_line():
    """Parsed as vLLM's OpenAI server module parses it."""
    serve = {"kind": "vllm", "tensor_parallel_size": 4, "pipeline_parallel_size": 2, "dtype": "float32",
             "enforce_eager": True, "extra_args": ["--max-model-len", 8192]}
    cmd = server.command(serve, "org/model", 8001, nodes=2)
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    args = _server_parser().parse_args(cmd[3:])
    assert (args.model, args.host, args.port) == ("org/model", "127.0.0.1", 8001)
    assert (args.tensor_parallel_size, args.pipeline_parallel_size) == (4, 2)
    assert args.distributed_executor_backend == "ray" and args.max_model_len == 8192
    assert args.dtype == "float32" and args.enforce_eager


def test_a_wrong_argument_would_be_refused():
    """The parser really checks: an option vLLM does not have stops it."""
    with pytest.raises(SystemExit):
        _server_parser().parse_args(["--model", "org/model", "--tensor-parallel-sise", "2"])
    with pytest.raises(TypeError):
        vllm.SamplingParams(temperatur=0.6)
