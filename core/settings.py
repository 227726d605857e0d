"""The one settings object of citebot, read from the environment (and an optional `.env`), in groups.

Names are part of the contract other issues and deployment scripts rely on: `CITEBOT_*` for our own
settings, `OPENAI_*` and `SLACK_*` with the names those platforms' own tools use.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

G = TypeVar("G", bound=BaseModel)


def _env(name: str) -> AliasChoices:
    """Platform variables keep their platform's own name (OPENAI_API_KEY, not CITEBOT_OPENAI_API_KEY)."""
    return AliasChoices(name)


class StorageSettings(BaseModel):
    """Where data lives: the home folder, the audit database, the index, the model cache."""

    home: Path = Field(Path(".citebot"),
                       description="Data directory: Chroma files, SQLite audit db, model cache, adapters.")
    database_url: str | None = Field(None,
                                     description="SQLAlchemy URL of the audit log; default SQLite in CITEBOT_HOME.")
    chroma_url: str | None = Field(None,
                                   description="http://host:port of a Chroma server; default embedded Chroma.")
    collection: str = Field("citebot")
    config: Path | None = Field(None, description="TOML file listing the sources to index; default "
                                "./citebot.toml when it exists.")
    model_cache: Path | None = Field(None, description="Where the converted local model is kept; shared by "
                                     "all homes because it derives from the installed package. "
                                     "Default ~/.cache/citebot.")

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def sqlite_path(self) -> Path:
        return self.home / "audit.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def config_path(self) -> Path | None:
        if self.config is not None:
            return self.config.expanduser()
        default = Path("citebot.toml")
        return default.resolve() if default.exists() else None

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def model_cache_dir(self) -> Path:
        return self.model_cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "citebot"

    @property
    def adapters_dir(self) -> Path:
        return self.home / "adapters"

    def where(self) -> str:
        """Where the index lives, for messages to the user."""
        return self.chroma_url or str(self.chroma_path)


class RetrievalSettings(BaseModel):
    """How passages are found: the embedder, chunking, fusion, how many, postprocessors."""

    embed_model: str = Field(
        "minilm", description="Model that embeds chunks and queries: minilm (all-MiniLM-L6-v2, fast), mpnet "
        "(all-mpnet-base-v2, `make install-mpnet`: +0.026 nDCG@10, ~5x the embedding time) or the folder of "
        "one adapted to your docs by `citebot tune embedder`. Changing it needs `citebot index --rebuild`.")
    top_k: int = Field(8, ge=1, le=50, description="Passages retrieved per question: the router judges and the "
                       "answer quotes from these; only the ones quoted are shown as sources. 8 rather than 5 "
                       "lifted Debian FAQ answers citing the right source from 0.82 to 0.86 with mpnet "
                       "(MiniLM, handbook: unchanged).")
    chunk_chars: int = Field(2500, ge=200, le=8000,
                             description="Longest chunk; tuned on the Debian FAQ benchmark (1200: 0.704, "
                             "2500: 0.745, 8000: 0.753 nDCG@10) and kept short enough to quote.")
    dense_weight: float = Field(0.8, ge=0.0, le=1.0,
                                description="Weight of dense similarity against normalised BM25 in hybrid "
                                "retrieval (tuned with `citebot eval retrieval`).")
    postprocessors: list[dict[str, Any]] = Field(
        default_factory=list, description="JSON list of LlamaIndex node postprocessors run on the retrieved "
        "passages before routing, e.g. [{\"class\": \"package.module:Reranker\", \"top_n\": 8}].")

    @field_validator("embed_model")
    @classmethod
    def _known_embed_model(cls, value: str) -> str:
        return embed_model_name(value)


class AnsweringSettings(BaseModel):
    """How answers are made: the models, the routing thresholds, tracing, escalation."""

    llm: str = Field("local", description="Who writes generative answers: local (the small offline model), "
                     "openai, openai-like (any OpenAI-compatible server), azure, or `package.module:ClassName` "
                     "of any LlamaIndex LLM integration installed.")
    llm_model: str = Field("gpt-4o-mini",
                           description="Model name given to the CITEBOT_LLM integration.")
    llm_options: dict[str, Any] = Field(default_factory=dict, description="JSON object of extra arguments for "
                                        "the CITEBOT_LLM integration's constructor, e.g. {\"context_window\": "
                                        "8192} or Azure's {\"engine\": ..., \"azure_endpoint\": ..., "
                                        "\"api_version\": ...}.")
    answer_style: Literal["auto", "extractive", "generative"] = Field(
        "auto",
        description="auto: extractive with the small local model, generative with any other CITEBOT_LLM.")
    openai_api_key: str | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    azure_openai_endpoint: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_ENDPOINT"),
                                              description="Azure OpenAI resource, https://NAME.openai.azure.com: "
                                              "where `tune run --provider azure` trains and its models are served.")
    azure_openai_api_key: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_API_KEY"))
    azure_api_version: str = Field("2024-10-21", description="Azure OpenAI data-plane API version (files, "
                                   "fine-tuning jobs, chat completions of deployments).")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before a call to the openai backend gives up.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries (with exponential backoff) of a failed "
                             "openai backend call: connection errors, 429 and 5xx.")
    # Set, these override the thresholds each index derives for itself (indexing.calibration); unset,
    # the defaults serve only an index built before calibration existed.
    answer_threshold: float = Field(0.425, description="Best MiniLM similarity of question and passage at or "
                                    "above which we answer (whatever CITEBOT_EMBED_MODEL retrieved them). "
                                    "Unset: the index's own threshold.")
    abstain_threshold: float = Field(0.277, description="Below this we escalate; between the two we abstain. "
                                     "Unset: the index's own threshold.")
    support_threshold: float = Field(0.55,
                                     description="Minimum support score for a sentence to keep a citation.")
    unsupported: Literal["remove", "flag"] = Field(
        "remove", description="Generated sentences no passage supports: removed, or kept visibly flagged.")
    max_question_chars: int = Field(4000)
    escalation_contact: str = Field("@platform-oncall")
    escalation_llm: str = Field(
        "local", description="Who writes escalation replies: the local small model with the promoted LoRA "
        "adapter, or any CITEBOT_LLM backend serving it (openai: vLLM with --enable-lora serving that adapter).")
    escalation_model: str = Field("citebot-escalation", description="Model name of the escalation adapter on "
                                  "the OpenAI-compatible server (vLLM's --lora-modules NAME=PATH).")
    adapter_poll_seconds: float = Field(10.0, ge=0.0, description="How often the bot checks for a newly "
                                        "promoted adapter (hot swap, no restart).")

    @field_validator("llm", "escalation_llm")
    @classmethod
    def _known_llm(cls, value: str) -> str:
        if value in LLM_BACKENDS or _IMPORT_PATH.fullmatch(value):
            return value
        raise ValueError(f"use one of {', '.join(LLM_BACKENDS)} or a LlamaIndex LLM class as package.module:Name")

    @property
    def azure_key(self) -> str | None:
        """The Azure OpenAI key: AZURE_OPENAI_API_KEY, else OPENAI_API_KEY."""
        return self.azure_openai_api_key or self.openai_api_key


class SlackSettings(BaseModel):
    """The Slack app: tokens, the API endpoint, admins, where escalations go, concurrency."""

    slack_bot_token: str | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_client_id: str | None = Field(None, validation_alias=_env("SLACK_CLIENT_ID"),
                                        description="Set (with SLACK_CLIENT_SECRET) for multi-workspace OAuth installs.")
    slack_client_secret: str | None = Field(None, validation_alias=_env("SLACK_CLIENT_SECRET"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    slack_process_before_response: bool = Field(False, description="FaaS-style HTTP deployments (AWS Lambda, "
                                                "Cloud Functions): finish listeners before responding.")
    slack_admins: str = Field("", description="Comma-separated Slack user ids allowed to /reindex and /audit.")
    escalation_channel: str | None = Field(None, description="Channel id where \"escalate to a person\" posts.")
    answer_concurrency: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=1, le=64,
                                    description="Questions answered at once per bot process (default: half "
                                    "the cores); the rest wait their turn, their progress message already up.")
    stream_answers: bool = Field(True, description="Stream answers in channels and DMs (chat.startStream, "
                                 "opened with a progress task); off, or where Slack refuses a stream: a progress "
                                 "message edited into the answer. Assistant threads always stream.")
    resolved_reaction: str = Field("white_check_mark",
                                   description="Reaction name that marks a Slack thread resolved.")

    @property
    def admin_ids(self) -> set[str]:
        return {part.strip() for part in self.slack_admins.split(",") if part.strip()}


class AuditSettings(BaseModel):
    """What the audit log keeps, for how long, and who may review it."""

    redact_emails: bool = Field(True, description="Replace e-mail addresses in stored questions and answers "
                                "(secrets such as tokens and keys are always redacted).")
    retention_days: int | None = Field(None, ge=1, description="Answers older than this are deleted or "
                                       "redacted by the running bot, daily; unset keeps everything.")
    retention_mode: Literal["delete", "redact"] = Field("redact", description="What retention does to old "
                                                        "answers: delete them, or keep the rows and blank the text.")
    review_token: str | None = Field(None, description="Shared admin token for the review web page "
                                     "(`citebot audit serve`); required to start it.")


class OpsSettings(BaseModel):
    """Running several processes: Redis, the job queue, log format."""

    redis_url: str | None = Field(None, description="redis://host:6379/0: event dedupe and job locks shared "
                                  "by every bot replica and worker.")
    broker_url: str | None = Field(None, description="amqp://user:pass@host:5672// of the job queue (RabbitMQ): "
                                   "reindex and tuning jobs run on `citebot worker` processes instead of a "
                                   "thread of the bot. Needs CITEBOT_REDIS_URL and a Chroma server.")
    queue: str = Field("citebot", description="Queue name on the broker: one per deployment sharing it.")
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per log line "
                                                "(for log shippers), with audit and job ids as fields.")


class TuningSettings(BaseModel):
    """Fine-tuning the escalation model: data, LoRA training, evaluation."""

    tune_exports: str = Field("", description="Comma-separated Slack export folders that `citebot tune run` "
                              "reads resolved threads from, besides the threads marked resolved in Slack.")
    tune_rank: int = Field(8, ge=1, le=256, description="LoRA rank.")
    tune_alpha: int = Field(16, ge=1, description="LoRA alpha.")
    tune_lr: float = Field(1e-3, gt=0, description="Learning rate.")
    tune_epochs: int = Field(2, ge=1, le=50)
    tune_batch_size: int = Field(4, ge=1, le=256)
    tune_grad_accum: int = Field(2, ge=1, le=256, description="Micro-batches per optimizer step.")
    tune_max_tokens: int = Field(320, ge=64, le=4096, description="Longest training sequence (thread + reply).")
    tune_seed: int = Field(42)
    tune_min_examples: int = Field(20, ge=1, description="Fewer training examples than this: no training.")
    tune_heldout_fraction: float = Field(0.15, gt=0.0, lt=0.9)
    tune_eval_samples: int = Field(20, ge=1, description="Held-out threads to generate replies for "
                                   "in the behaviour checks.")
    tune_scrub_names: bool = Field(True, description="Replace people's names and @mentions in training data.")
    tune_base_model: str = Field("", description="Local folder of a transformers causal LM (and its tokenizer) "
                                 "that local tuning trains on and the escalation model serves, e.g. a larger "
                                 "SmolLM2 on a GPU machine; empty: the bundled SmolLM2-135M-Instruct.")
    tune_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Weights' type for local training and evaluation: auto is bfloat16 on a GPU that "
        "supports it, float32 on the CPU.")
    tune_provider: Literal["local", "openai", "azure"] = Field(
        "local", description="Where `citebot tune run` (and the /citebot tune run job) trains: local (LoRA on "
        "the small model), openai (OpenAI's fine-tuning API, with OPENAI_API_KEY and OPENAI_BASE_URL) or azure "
        "(Azure OpenAI, with AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY; each tuned model is deployed "
        "through Azure's management API before it is evaluated or served).")
    tune_provider_model: str = Field("gpt-4o-mini-2024-07-18", description="Base model fine-tuned at the "
                                     "provider; also the base the tuned model is evaluated against.")
    tune_provider_consent: bool = Field(False, description="true: resolved threads (scrubbed) may be uploaded to "
                                        "the provider for fine-tuning; otherwise each run needs --yes.")
    tune_provider_price_per_mtok: float = Field(3.0, ge=0, description="Provider's training price in USD per "
                                                "million trained tokens, for the cost estimate and the registry.")
    tune_provider_poll_seconds: float = Field(15.0, gt=0, description="How often a provider job's status and "
                                              "events are read.")
    tune_azure_resource_id: str = Field("", description="The Azure OpenAI resource's ARM id, /subscriptions/"
                                        "SUB/resourceGroups/GROUP/providers/Microsoft.CognitiveServices/accounts/"
                                        "NAME: where tuned models are deployed.")
    tune_azure_base_deployment: str = Field("", description="Deployment of CITEBOT_TUNE_PROVIDER_MODEL on that "
                                            "resource: the base model a tuned one is compared with.")
    tune_azure_management_url: str = Field("https://management.azure.com", description="Azure Resource "
                                           "Manager endpoint (another for sovereign clouds).")
    tune_azure_management_token: str | None = Field(None, description="Bearer token for Azure Resource Manager; "
                                                    "unset: azure-identity's DefaultAzureCredential (managed "
                                                    "identity, environment, Azure CLI login).")
    tune_azure_deployment_sku: str = Field("Standard", description="SKU of the deployments of tuned models.")
    tune_azure_deployment_capacity: int = Field(1, ge=1, description="Their capacity (thousands of tokens per "
                                                "minute).")

    @property
    def tune_export_paths(self) -> list[Path]:
        return [Path(p.strip()).expanduser() for p in self.tune_exports.split(",") if p.strip()]


class IndexSettings(StorageSettings, RetrievalSettings):
    """What the index needs and nothing else: where it lives (storage) and how it embeds, chunks and
    retrieves (retrieval). The indexing package and the retriever receive this."""


class Settings(BaseSettings, IndexSettings, AnsweringSettings, SlackSettings, AuditSettings, OpsSettings,
               TuningSettings):
    """Runtime configuration: every group's fields, each settable by the environment variable in its alias.

    Components take the group they need (`settings.storage`, `settings.retrieval`, ...): a group is a
    plain model holding only its own fields, so what a component depends on shows in its signature.
    """

    model_config = SettingsConfigDict(env_prefix="CITEBOT_", env_file=".env", extra="ignore", populate_by_name=True)

    @property
    def storage(self) -> StorageSettings:
        return _view(StorageSettings, self)

    @property
    def retrieval(self) -> RetrievalSettings:
        return _view(RetrievalSettings, self)

    @property
    def index(self) -> IndexSettings:
        return _view(IndexSettings, self)

    @property
    def answering(self) -> AnsweringSettings:
        return _view(AnsweringSettings, self)

    @property
    def slack(self) -> SlackSettings:
        return _view(SlackSettings, self)

    @property
    def audit(self) -> AuditSettings:
        return _view(AuditSettings, self)

    @property
    def ops(self) -> OpsSettings:
        return _view(OpsSettings, self)

    @property
    def tuning(self) -> TuningSettings:
        return _view(TuningSettings, self)


def _view(group: type[G], settings: Settings) -> G:
    """The group's fields of `settings`, as that group (already validated: nothing is re-checked). Which
    fields were set explicitly carries over: explicit thresholds win over an index's own."""
    return group.model_construct(_fields_set=settings.model_fields_set & set(group.model_fields),
                                 **{name: getattr(settings, name) for name in group.model_fields})


LLM_BACKENDS = ("local", "openai", "openai-like", "azure")
_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
STOCK_EMBED_MODELS = ("minilm", "mpnet")  # shipped on PyPI; any other CITEBOT_EMBED_MODEL is a folder


def embed_model_name(value: str) -> str:
    """`minilm`, `mpnet`, or the absolute path of a sentence-transformers folder (an adapted embedder)."""
    if value in STOCK_EMBED_MODELS:
        return value
    folder = Path(value).expanduser()
    if not (folder / "modules.json").is_file():
        raise ValueError(f"{value!r} is neither minilm, mpnet nor a sentence-transformers folder (one with "
                         "modules.json, as `citebot tune embedder` writes)")
    return str(folder.resolve())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests build their own `Settings(...)` instead of calling this."""
    return Settings()
