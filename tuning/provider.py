"""Fine-tuning at a provider: OpenAI's (or Azure OpenAI's) files and fine-tuning jobs API through the
`openai` SDK.

This module only talks to the API (write the chat-format JSONL, estimate what it costs, upload, start a
job, follow its events, cancel, delete the files); `tuning.provider_run` decides when, and records it
in the registry. Azure OpenAI serves the same API under its resource's endpoint with an `api-version`; two
differences matter here: its stable version takes the epochs as `hyperparameters` (no `method`), and an
uploaded file must be processed before a job may use it. The JSONL holds the same scrubbed examples the local adapter trains on, as
`{"messages": [system, thread so far, the team's reply]}` with the serving prompt as the system message,
so the provider model learns exactly what the bot will show it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CitebotError
from core.settings import AnsweringSettings, TuningSettings
from tuning.dataset import Dataset, Example

TERMINAL = ("succeeded", "failed", "cancelled")
# OpenAI counts a few tokens of chat formatting per message and per conversation (their cookbook's
# counting); the estimate adds them so it is not systematically low.
TOKENS_PER_MESSAGE, TOKENS_PER_CONVERSATION = 4, 3

EventFn = Callable[[str, int | None, int | None, float | None], None]  # message, step, total steps, loss


@dataclass
class Estimate:
    """What `--dry-run` prints: what would be uploaded and roughly what training it costs."""

    model: str
    examples: int
    validation_examples: int
    epochs: int
    tokens_per_epoch: int
    trained_tokens: int
    cost_usd: float
    files: list[str] = field(default_factory=list)


@dataclass
class JobOutcome:
    job_id: str
    status: str  # succeeded | failed | cancelled
    model: str | None
    trained_tokens: int
    train_losses: list[float]
    valid_loss: float | None
    error: str | None
    seconds: float


def chat_rows(examples: list[Example]) -> list[dict]:
    return [{"messages": example.messages()} for example in examples]


def write_jsonl(examples: list[Example], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in chat_rows(examples):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def count_tokens(examples: list[Example]) -> int:
    """Tokens of the chat examples by tiktoken's cl100k encoding (bundled with LlamaIndex, so no download):
    an estimate, since newer models use other encodings; it is within a few percent on English text."""
    from llama_index.core.utils import get_tokenizer

    encode = get_tokenizer()
    return sum(TOKENS_PER_CONVERSATION + sum(TOKENS_PER_MESSAGE + len(encode(m["content"])) for m in row["messages"])
               for row in chat_rows(examples))


def estimate(dataset: Dataset, settings: TuningSettings) -> Estimate:
    """Trained tokens are the training file's tokens times the epochs (validation is not billed)."""
    per_epoch = count_tokens(dataset.train)
    trained = per_epoch * settings.tune_epochs
    return Estimate(settings.tune_provider_model, len(dataset.train), len(dataset.heldout), settings.tune_epochs,
                    per_epoch, trained, round(trained / 1e6 * settings.tune_provider_price_per_mtok, 4))


def write_files(dataset: Dataset, folder: Path) -> tuple[Path, Path]:
    return write_jsonl(dataset.train, folder / "train.chat.jsonl"), write_jsonl(dataset.heldout,
                                                                                folder / "validation.chat.jsonl")


def client(answering: AnsweringSettings, provider: str = "openai"):
    """The SDK client with the bot's key, endpoint, timeout and retries: OpenAI's (OPENAI_API_KEY,
    OPENAI_BASE_URL) or Azure OpenAI's (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, CITEBOT_AZURE_API_VERSION)."""
    import openai

    if provider == "azure":
        key = answering.azure_key
        if not (answering.azure_openai_endpoint and key):
            raise CitebotError("Fine-tuning at azure needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY.")
        return openai.AzureOpenAI(api_key=key,
                                  azure_endpoint=answering.azure_openai_endpoint,
                                  api_version=answering.azure_api_version, timeout=answering.llm_timeout,
                                  max_retries=answering.llm_retries)
    if not answering.openai_api_key:
        raise CitebotError("Fine-tuning at openai needs OPENAI_API_KEY.")
    return openai.OpenAI(api_key=answering.openai_api_key, base_url=answering.openai_base_url,
                         timeout=answering.llm_timeout, max_retries=answering.llm_retries)


def _api_error(action: str, exc: Exception) -> CitebotError:
    return CitebotError(f"Could not {action}: {type(exc).__name__}: {exc}")


class FineTuning:
    """One provider's fine-tuning API, with the calls the run makes and nothing else."""

    def __init__(self, api, poll_seconds: float = 15.0, provider: str = "openai"):
        self.api, self.poll_seconds, self.provider = api, poll_seconds, provider

    def upload(self, path: Path) -> str:
        """The file's id once the provider accepts it (Azure imports uploads asynchronously: wait for it)."""
        import openai

        try:
            with open(path, "rb") as handle:
                uploaded = self.api.files.create(file=(path.name, handle, "application/jsonl"), purpose="fine-tune")
            if self.provider == "azure":
                uploaded = self.api.files.wait_for_processing(uploaded.id, poll_interval=self.poll_seconds)
        except (openai.OpenAIError, RuntimeError) as exc:  # RuntimeError: the SDK's wait timed out
            raise _api_error(f"upload {path.name}", exc) from None
        if uploaded.status == "error":
            raise CitebotError(f"{self.provider} rejected {path.name}: {uploaded.status_details or 'no reason given'}")
        return uploaded.id

    def create_job(self, model: str, training_file: str, validation_file: str | None, epochs: int, seed: int,
                   suffix: str) -> str:
        import openai

        epochs_given = {"hyperparameters": {"n_epochs": epochs}} if self.provider == "azure" else \
            {"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": epochs}}}}
        try:
            job = self.api.fine_tuning.jobs.create(model=model, training_file=training_file,
                                                   validation_file=validation_file, seed=seed, suffix=suffix,
                                                   **epochs_given)
        except openai.OpenAIError as exc:
            raise _api_error(f"start a fine-tuning job on {model}", exc) from None
        return job.id

    def status(self, job_id: str) -> str:
        return self.api.fine_tuning.jobs.retrieve(job_id).status

    def follow(self, job_id: str, on_event: EventFn | None = None) -> JobOutcome:
        """Poll the job until it ends, passing each new event on; losses come from its metrics events."""
        import openai

        started, seen = time.monotonic(), set()
        losses: list[float] = []
        valid: float | None = None
        while True:
            try:
                job = self.api.fine_tuning.jobs.retrieve(job_id)
                events = list(self.api.fine_tuning.jobs.list_events(job_id, limit=50).data)
            except openai.OpenAIError as exc:
                raise _api_error(f"follow fine-tuning job {job_id}", exc) from None
            for event in sorted((e for e in events if e.id not in seen), key=lambda e: (e.created_at, e.id)):
                seen.add(event.id)
                data = event.data if isinstance(event.data, dict) else {}
                if event.type == "metrics" and data.get("train_loss") is not None:
                    losses.append(round(float(data["train_loss"]), 4))
                    valid = data.get("full_valid_loss", data.get("valid_loss", valid))
                if on_event is not None:
                    on_event(event.message, data.get("step"), data.get("total_steps"), data.get("train_loss"))
            if job.status in TERMINAL:
                error = job.error.message if job.error and job.error.message else None
                return JobOutcome(job_id, job.status, job.fine_tuned_model, job.trained_tokens or 0, losses,
                                  round(float(valid), 4) if valid is not None else None, error,
                                  time.monotonic() - started)
            time.sleep(self.poll_seconds)

    def cancel(self, job_id: str) -> str:
        import openai

        try:
            return self.api.fine_tuning.jobs.cancel(job_id).status
        except openai.OpenAIError as exc:
            raise _api_error(f"cancel fine-tuning job {job_id}", exc) from None

    def delete_files(self, file_ids: list[str]) -> list[str]:
        """Delete what was uploaded; the ids that could not be deleted (kept for the next attempt)."""
        import openai

        left = []
        for file_id in file_ids:
            try:
                self.api.files.delete(file_id)
            except openai.NotFoundError:
                continue  # already gone
            except openai.OpenAIError:
                left.append(file_id)
        return left
