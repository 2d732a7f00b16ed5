"""The one place that reads the environment.

Every setting is an environment variable of the same name in upper case (``LLM_BASE_URL`` for
``llm_base_url``), or a line in ``.env``. The README lists them all.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Once the default, and published here: anyone could sign an officer's token with it. Accepted only in
# tests; without AUTH_SECRET, an installation signs with its own random secret (finagent.auth).
DEV_AUTH_SECRET = "dev-only-insecure-secret"  # noqa: S105 - refused outside tests
MIN_AUTH_SECRET_CHARS = 32
# scheme://host[:port] as a browser sends it in Origin: no path, no wildcard, nothing a header splits on.
_ORIGIN = re.compile(r"https?://([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="SQLite file, Chroma store, logs")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "finagent",
        description="vLLM venv, converted model, compile cache",
    )

    # Relational store: SQLite by default, PostgreSQL with postgresql+asyncpg://...
    database_url: str = ""

    # LLM. Unset llm_base_url means "the embedded vLLM that `finagent llm start` runs".
    llm_base_url: str | None = None
    llm_model: str = "qwen2.5-coder-0.5b-instruct"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2
    llm_temperature: float = 0.1
    llm_max_tokens: int = 400

    # Embedded vLLM (only used when llm_base_url is unset)
    vllm_host: str = "127.0.0.1"
    vllm_port: int = 8001
    vllm_kv_cache_gib: int = 2
    vllm_max_model_len: int = 4096
    vllm_start_timeout_s: float = 900.0

    # Knowledge base
    kb_corpus_dir: Path = PROJECT_ROOT / "knowledge" / "corpus"
    chroma_url: str | None = Field(default=None, description="Chroma server; unset = on-disk store")
    chroma_collection: str = "finagent_kb"
    embedding_base_url: str | None = Field(
        default=None, description="OpenAI-compatible /v1/embeddings; unset = in-process model"
    )
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_api_key: SecretStr | None = None
    embedding_runtime: Literal["onnx", "sentence-transformers"] = Field(
        default="onnx", description="how the bundled model runs: its checked ONNX export, or torch"
    )
    kb_min_relevance: float = 0.35
    kb_min_relevance_zh: float = 0.35
    kb_glossary_file: Path | None = Field(
        default=None, description="the bank's own Chinese-English terms, over the shipped glossary"
    )

    # Policy packs
    policy_dir: Path = PROJECT_ROOT / "policies" / "packs"

    # Web server
    host: str = "127.0.0.1"
    port: int = 8000
    auth_secret: SecretStr | None = Field(
        default=None, description="signs session tokens; unset = a random secret in DATA_DIR/auth_secret"
    )
    token_ttl_s: int = 8 * 3600
    # Sign-in lock-out: more failed attempts than these within the window lock the user name (or the
    # client address) for the lock-out period, across every server process (the counts are in the database).
    login_max_failures: int = Field(default=5, ge=1, description="per user name, within the window")
    login_max_failures_per_ip: int = Field(
        default=50, ge=1, description="per client address (many customers may share one), within the window"
    )
    login_failure_window_s: int = Field(default=900, ge=1)
    login_lockout_s: int = Field(default=900, ge=1)
    max_message_chars: int = 2000
    widget_allowed_origins: list[str] = Field(
        default_factory=list, description="origins of bank pages that embed the widget (CORS); JSON list"
    )
    seed_demo_data: bool = True

    # Work queues (finagent.work_queue): minutes until an item's SLA runs out, per kind; past it the item
    # escalates to a supervisor. A held action that no one decides for approval_expiry_minutes is
    # rejected automatically and the customer is told. A claim lapses after queue_claim_minutes.
    queue_sla_minutes: dict[str, int] = Field(
        default_factory=lambda: {
            "approval": 240,
            "aml_alert": 1440,
            "loan_referral": 2880,
            "handoff": 60,
            "complaint": 2880,
        },
        description="JSON object: kind -> minutes",
    )
    approval_expiry_minutes: int = Field(default=4320, ge=1)
    queue_claim_minutes: int = Field(default=30, ge=1)
    queue_sweep_interval_s: float = Field(
        default=30.0, ge=0, description="how often each server process sweeps the queue; 0 = never"
    )
    queue_events_max_s: float = Field(
        default=300.0, gt=0, description="a live queue stream ends after this; the console reconnects"
    )

    redis_url: str | None = None
    # Transaction monitoring (`finagent monitor`): the Redis stream and its consumer group.
    monitor_stream: str = "finagent:transactions"
    monitor_group: str = "screening"

    # Observability (docs/observability.md). Tracing is off unless OTLP_ENDPOINT is set.
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP collector, e.g. http://otel-collector:4317 (grpc) or :4318 (http)"
    )
    otlp_protocol: Literal["grpc", "http"] = "grpc"
    otlp_insecure: bool = Field(
        default=False, description="gRPC without TLS (a collector on a private network)"
    )
    otel_service_name: str = "finagent"
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one object a line with request and turn ids, PII redacted"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Retention (`finagent retention run`). The audit trail is never pruned.
    retention_checkpoint_days: int = Field(
        default=30, ge=1, description="finished runs' LangGraph checkpoints older than this go"
    )
    retention_conversation_days: int = Field(
        default=7 * 365, ge=1, description="messages of conversations idle this long go (no open action)"
    )

    @field_validator("widget_allowed_origins")
    @classmethod
    def _origins_only(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], e.g. https://bank.example, "
                    "with no path, trailing slash or wildcard"
                )
        return origins

    @field_validator("queue_sla_minutes")
    @classmethod
    def _positive_slas(cls, slas: dict[str, int]) -> dict[str, int]:
        wrong = {kind: minutes for kind, minutes in slas.items() if minutes < 1}
        if wrong:
            raise ValueError(f"SLA minutes must be at least 1, got {wrong}")
        return slas

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        secret = self.auth_secret.get_secret_value() if self.auth_secret is not None else None
        if self.environment == "test" or secret is None:
            return self
        if secret == DEV_AUTH_SECRET:
            raise ValueError(
                "AUTH_SECRET is the development value published in finagent's source; "
                "set a random one, or unset it and the installation makes its own"
            )
        if len(secret) < MIN_AUTH_SECRET_CHARS:
            raise ValueError(f"AUTH_SECRET must be at least {MIN_AUTH_SECRET_CHARS} characters")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.auth_secret is None:
                raise ValueError("AUTH_SECRET must be set in production, the same for every server process")
            if self.llm_base_url is None:
                raise ValueError("LLM_BASE_URL must point at the production vLLM in production")
            if self.seed_demo_data:
                raise ValueError("SEED_DEMO_DATA must be false in production")
        return self

    def min_relevance(self, language: str) -> float:
        """Best-match relevance below which the assistant says it does not know, for a reply language."""
        return self.kb_min_relevance_zh if language == "zh" else self.kb_min_relevance

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'finagent.db'}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def vllm_dir(self) -> Path:
        return self.cache_dir / "vllm"

    @property
    def embedded_llm(self) -> bool:
        return self.llm_base_url is None


class SettingsError(ValueError):
    """A setting (environment variable or `.env` line) has a value finagent cannot use."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper() or 'settings'}: {error['msg']} "
            f"(got {error['input']!r})"
            for error in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
