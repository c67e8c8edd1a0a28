"""Models: students — tokenizer, construction, pre-training, loading (``student``) —, token counts with a named
tokenizer (``tokens``), pretrained models converted from a local GGUF file (``conversion``) and hub revisions pinned
to their commits (``hub``)."""

from compress_distill._face import face

__all__, __getattr__, __dir__ = face(__name__, {
    "student": ("build_model", "load_base", "load_student", "train_tokenizer", "pretrain", "count_parameters"),
    "tokens": ("count_tokens", "load_tokenizer"),
    "conversion": ("convert_gguf",),
    "hub": ("pin", "local"),
})
