"""One settings object, read from FTLAB_* environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_TOKEN_CHARS = 16  # see app/limits/guard.py


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "ftlab"


def _default_model_dir() -> Path:
    return Path.home() / ".cache" / "ftlab" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FTLAB_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="database file, adapters, uploads")
    model_dir: Path = Field(default_factory=_default_model_dir, description="model cache")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    instructor_token: str = Field(
        default_factory=lambda: secrets.token_urlsafe(24),
        description="bearer token for instructor routes; generated and printed at start when unset",
    )
    instructor_token_generated: bool = False
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), description="signs cookies")
    runner: str = Field(
        "local",
        description="'local': spawned worker processes; 'ray': this machine's Ray (or a private one on "
        "127.0.0.1); 'ray://host:port' or 'host:port': a Ray cluster",
    )
    ray_actors: int = Field(2, ge=1, le=256, description="Ray training actors (jobs at once on the cluster)")
    ray_num_cpus: float = Field(1.0, ge=0, description="CPUs each Ray training actor reserves")
    ray_num_gpus: float = Field(0.0, ge=0, le=8, description="GPUs per Ray actor (0.25: four jobs per GPU)")
    device: str = Field("auto", description="'auto', 'cpu' or 'cuda'")
    cpu_workers: int = Field(1, ge=1, le=16, description="training jobs at once on the CPU")
    job_time_limit_s: float = Field(900.0, gt=0, description="wall-time limit of one job")
    allowed_hub_models: list[str] = Field(
        default_factory=list, description="extra hub ids an instructor allows"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="host names the server answers to besides loopback and IP addresses ('*.x.org' too)",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses (or networks) of reverse proxies whose X-Forwarded-For names the client; "
        "none by default, loopback included: every per-address limit counts the connecting address",
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="extra origins allowed to open websockets"
    )
    generate_concurrency: int = Field(2, ge=1, le=16, description="generations at once per web process")
    generate_queue: int = Field(8, ge=0, le=200, description="generations waiting per process; more get 429")
    max_upload_bytes: int = Field(2_000_000, ge=1_000)
    max_body_bytes: int = Field(4_000_000, ge=1_000, description="any other request body")
    max_json_body_bytes: int = Field(
        65_536, ge=1_000, description="a JSON request body (parsed on the event loop, so kept small)"
    )
    subscriber_queue_size: int = Field(1024, ge=8)
    ws_ping_interval_s: float = Field(20.0, gt=0)

    @field_validator("instructor_token")
    @classmethod
    def _guessable_token(cls, value: str) -> str:
        # Wrong guesses are throttled, the right token never is (app/limits/guard.py): so the token
        # itself must be out of reach of guessing.
        if len(value) < MIN_TOKEN_CHARS or len(set(value)) < MIN_TOKEN_CHARS // 2:
            raise ValueError(
                f"the instructor token must have at least {MIN_TOKEN_CHARS} characters, "
                f"{MIN_TOKEN_CHARS // 2} of them different (unset FTLAB_INSTRUCTOR_TOKEN to get a "
                "generated one)"
            )
        return value

    @field_validator("runner")
    @classmethod
    def _known_runner(cls, value: str) -> str:
        host, _, port = value.removeprefix("ray://").rpartition(":")
        if value in ("local", "ray") or (host and port.isdigit()):
            return value
        raise ValueError(f"runner {value!r}: use 'local', 'ray', 'ray://host:port' or 'host:port'")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'ftlab.db'}"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.model_dir.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    import os

    settings = Settings()
    if not os.environ.get("FTLAB_INSTRUCTOR_TOKEN"):
        settings.instructor_token_generated = True
    return settings
