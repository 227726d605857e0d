"""Text generation backends behind one small interface, chosen by CITEBOT_LLM.

`local`: the small instruct model on CPU via transformers (offline default).
`openai`: the openai client against OpenAI or any OpenAI-compatible server (OPENAI_BASE_URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from core.errors import CitebotError
from core.settings import Settings

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

    def __init__(self, settings: Settings):
        from tuning.base_model import BASE_MODEL_ID, load_base_model

        self.name = f"local:{BASE_MODEL_ID}"
        self.model, self.tokenizer = load_base_model(settings.model_cache_dir)

    def stream(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> Iterator[str]:
        from tuning.generation import stream_text

        yield from stream_text(self.model, self.tokenizer, messages, max_tokens, usage)


class OpenAIGenerator(_CompleteFromStream):
    """Chat completions with streaming; the client retries with backoff and enforces a timeout."""

    def __init__(self, settings: Settings, model: str | None = None):
        import openai

        if not settings.openai_api_key and not settings.openai_base_url:
            raise CitebotError("CITEBOT_LLM=openai needs OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                               "compatible server such as vLLM or Ollama).")
        self.model_name = model or settings.llm_model
        self.name = f"openai:{self.model_name}"
        self.client = openai.OpenAI(api_key=settings.openai_api_key or "not-needed",
                                    base_url=settings.openai_base_url, timeout=settings.llm_timeout,
                                    max_retries=settings.llm_retries)

    def stream(self, messages: list[Message], max_tokens: int = 200, usage: Usage | None = None) -> Iterator[str]:
        import openai

        try:
            response = self.client.chat.completions.create(model=self.model_name, messages=messages,
                                                           max_tokens=max_tokens, temperature=0, stream=True,
                                                           stream_options={"include_usage": True})
            for event in response:
                if event.usage is not None and usage is not None:  # the last event, after the text
                    usage.update(prompt=event.usage.prompt_tokens, completion=event.usage.completion_tokens)
                if event.choices and event.choices[0].delta.content:
                    yield event.choices[0].delta.content
        except openai.OpenAIError as exc:
            raise GenerationError(f"The language model at {self.client.base_url} failed: {exc}") from None


def make_generator(settings: Settings) -> Generator:
    if settings.llm == "openai":
        return OpenAIGenerator(settings)
    return LocalGenerator(settings)


def make_escalation_generator(settings: Settings, engine) -> Generator:
    """CITEBOT_ESCALATION_LLM: the local model with the promoted adapter, or that adapter served by vLLM."""
    if settings.escalation_llm == "openai":
        return OpenAIGenerator(settings, model=settings.escalation_model)
    from tuning.serving import EscalationModel

    return EscalationModel(settings, engine)
