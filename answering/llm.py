"""Text generation behind one small interface (`Generator`), with LlamaIndex's LLMs as the backends.

CITEBOT_LLM names the backend:
- `local`: the small instruct model on CPU via transformers (offline default);
- `openai`: LlamaIndex's OpenAI integration (OpenAI itself, or OPENAI_BASE_URL); a model name OpenAI's
  table does not know (a vLLM or Ollama model) is served through `OpenAILike` instead;
- `openai-like`: `OpenAILike` for any OpenAI-compatible server (vLLM, llama.cpp, Ollama, LiteLLM);
- `azure`: Azure OpenAI (`pip install citebot[azure]`);
- `package.module:ClassName`: any other LlamaIndex LLM a team installs (Anthropic, Bedrock, Vertex...).
CITEBOT_LLM_OPTIONS (a JSON object) is passed to the integration's constructor, after citebot's own
arguments (model, key, base URL, timeout, retries), so it can add or override any of them.

Integrations are imported when first used: importing `llama_index.llms.openai` alone costs seconds.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from core.errors import CitebotError
from core.settings import AnsweringSettings

Message = dict[str, str]
Usage = dict[str, int]  # filled by a call: {"prompt": tokens in, "completion": tokens out}


class GenerationError(CitebotError):
    """The model could not produce an answer (server down, timeout); the caller degrades gracefully."""


class Generator(Protocol):
    name: str

    def stream(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> Iterator[str]:
        """Yield text pieces as the model produces them; token counts go into `usage` when given."""

    def complete(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> str:
        """The whole completion."""


class _CompleteFromStream:
    def complete(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> str:
        return "".join(self.stream(messages, max_tokens, usage)).strip()


class LocalGenerator(_CompleteFromStream):
    """Greedy decoding on the local small model, streamed token by token."""

    def __init__(self, model_cache: Path):
        from tuning.base_model import BASE_MODEL_ID, load_base_model

        self.name = f"local:{BASE_MODEL_ID}"
        self.model, self.tokenizer = load_base_model(model_cache)

    def stream(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> Iterator[str]:
        from tuning.generation import stream_text

        yield from stream_text(self.model, self.tokenizer, messages, max_tokens, usage)


class LlamaIndexGenerator(_CompleteFromStream):
    """Any LlamaIndex LLM, streamed through its chat interface; a failure of any kind becomes a
    GenerationError, so answering falls back to quoting the sources."""

    def __init__(self, llm, name: str):
        self.llm, self.name = llm, name

    def stream(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        try:
            for chunk in self.llm.stream_chat(chat, max_tokens=max_tokens):
                counts = chunk.additional_kwargs or {}
                if usage is not None and counts.get("completion_tokens"):
                    usage.update(prompt=counts["prompt_tokens"], completion=counts["completion_tokens"])
                if chunk.delta:
                    yield chunk.delta
        except Exception as exc:  # noqa: BLE001 - each integration has its own errors; all mean "no answer"
            where = getattr(self.llm, "api_base", None) or type(self.llm).__name__
            raise GenerationError(f"The language model at {where} failed: {exc}") from None


def _openai_arguments(settings: AnsweringSettings, model: str) -> dict[str, Any]:
    if not settings.openai_api_key and not settings.openai_base_url:
        raise CitebotError(f"CITEBOT_LLM={settings.llm} needs OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                           "compatible server such as vLLM or Ollama).")
    arguments = {"model": model, "api_key": settings.openai_api_key or "not-needed", "timeout": settings.llm_timeout,
                 "max_retries": settings.llm_retries, "temperature": 0.0,
                 "additional_kwargs": {"stream_options": {"include_usage": True}}}
    if settings.openai_base_url:
        arguments["api_base"] = settings.openai_base_url
    return arguments


def _known_to_openai(model: str) -> bool:
    from llama_index.llms.openai.utils import openai_modelname_to_contextsize

    try:
        openai_modelname_to_contextsize(model)
    except ValueError:
        return False
    return True


def _integration(settings: AnsweringSettings, backend: str, model: str):
    """The LlamaIndex LLM class for `backend` and the arguments citebot gives it."""
    if backend == "openai" and _known_to_openai(model):
        from llama_index.llms.openai import OpenAI

        return OpenAI, _openai_arguments(settings, model)
    if backend in ("openai", "openai-like"):
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike, {**_openai_arguments(settings, model), "is_chat_model": True}
    if backend == "azure":
        try:
            from llama_index.llms.azure_openai import AzureOpenAI
        except ImportError:
            raise CitebotError("CITEBOT_LLM=azure needs the Azure integration: pip install 'citebot[azure]'.") from None
        return AzureOpenAI, {"model": model, "api_key": settings.azure_key,
                             "azure_endpoint": settings.azure_openai_endpoint, "api_version": settings.azure_api_version,
                             "timeout": settings.llm_timeout, "max_retries": settings.llm_retries, "temperature": 0.0}
    module, _, name = backend.partition(":")
    try:
        return getattr(importlib.import_module(module), name), {"model": model}
    except (ImportError, AttributeError) as exc:
        raise CitebotError(f"CITEBOT_LLM={backend}: cannot import {name} from {module} ({exc}); install the "
                           "LlamaIndex integration that provides it.") from None


def llamaindex_llm(settings: AnsweringSettings, backend: str, model: str) -> Generator:
    cls, arguments = _integration(settings, backend, model)
    try:
        llm = cls(**{**arguments, **settings.llm_options})
    except Exception as exc:  # noqa: BLE001 - pydantic or the provider's SDK rejecting the configuration
        raise CitebotError(f"CITEBOT_LLM={backend} could not be configured: {exc} (see CITEBOT_LLM_OPTIONS)") from None
    return LlamaIndexGenerator(llm, f"{backend}:{model}")


def azure_deployment(settings: AnsweringSettings, deployment: str, model: str, name: str | None = None) -> Generator:
    """A deployment on the Azure OpenAI resource of AZURE_OPENAI_ENDPOINT (how tuned models are called
    there); `model` is the deployed model's base, which LlamaIndex reads its context window from."""
    cls, arguments = _integration(settings, "azure", model)
    try:
        llm = cls(**arguments, engine=deployment)
    except Exception as exc:  # noqa: BLE001 - pydantic or the SDK rejecting the configuration
        raise CitebotError(f"Azure OpenAI deployment {deployment} could not be configured: {exc} (see "
                           "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY)") from None
    return LlamaIndexGenerator(llm, name or f"azure:{deployment}")


def make_generator(settings: AnsweringSettings, model_cache: Path) -> Generator:
    """The model that writes generative answers (CITEBOT_LLM, CITEBOT_LLM_MODEL); the local one is
    converted into `model_cache` on first use."""
    if settings.llm == "local":
        return LocalGenerator(model_cache)
    return llamaindex_llm(settings, settings.llm, settings.llm_model)
