"""Generation: the engine interface (``interface``), the kinds and a job's engine (``registry``), resumable chunked
runs (``chunked``), served models (``server``), vLLM's process settings (``vllm_process``); the kinds ``hf``,
``openai`` and ``vllm`` are modules here, the demo's ``synthetic`` and ``extractive`` live with its world in
:mod:`compress_distill.synthetic`."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "interface": ("Request", "Completion", "Engine"),
    "registry": ("KINDS", "make_engine", "open_engine", "engine_class"),
    "chunked": ("run_chunked",),
    "server": ("served",),
})
