"""One settings object for the whole platform, read from ``SHEKTEU_*`` environment variables.

Settings are data: every field has a default and a help text, `shekteu settings` lists them and the
README documents them (a test keeps the two in step). A bad value or an unknown ``SHEKTEU_*`` name
stops the program with a message that names the variable, because a silently ignored typo in a
security limit (say, the fetch allow-list) is worse than a refusal to start.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shekteu.field import MIN_SITE_HECTARES

ENV_PREFIX = "SHEKTEU_"
# Variables with the prefix that are read by the test harness, not by the product.
NOT_SETTINGS = frozenset({"SHEKTEU_TEST_DATABASE_URL"})

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting is missing, malformed or unknown; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    data_dir: Path = Field(
        Path("./shekteu-data"),
        description="Directory for the SQLite database, the evidence store (blobs, WARC files) and exports.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database; default SQLite in the data directory. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname.",
    )
    fetch_allow_networks: Annotated[tuple[IPNetwork, ...], NoDecode] = Field(
        (),
        description="Comma-separated CIDRs that fetching may reach even though they are private, "
        "loopback or otherwise non-public (e.g. 127.0.0.0/8 for tests). Default: none.",
    )
    fetch_max_bytes: int = Field(
        10_000_000,
        gt=0,
        description="Largest body kept per fetch, in bytes; longer bodies are truncated and marked.",
    )
    fetch_timeout: float = Field(
        30.0, gt=0, description="Total time allowed for one fetch including redirects, in seconds."
    )
    fetch_connect_timeout: float = Field(
        10.0, gt=0, description="Time allowed to open one connection, in seconds."
    )
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Most redirects followed per fetch.")
    fetch_user_agent: str = Field(
        "Mozilla/5.0 (compatible; Shekteu-capture/0.1; evidence preservation)",
        min_length=1,
        description="User-Agent header sent when fetching.",
    )
    capture_workers: int = Field(8, ge=1, le=64, description="Parallel fetches when capturing many URLs.")
    capture_processes: int = Field(
        0,
        ge=0,
        le=64,
        description="Worker processes for CPU work: text extraction in captures of 16+ URLs and "
        "analysis of large batches; 0 = one per CPU, 1 = everything in the main process.",
    )
    screenshots: bool | None = Field(
        None,
        description="Whether `shekteu capture` and watched pages store a screenshot (with the page's images "
        "and style sheets) by default: unset = where Chromium and Playwright are installed; false = never "
        "(`--screenshot` still asks for one).",
    )
    chromium_path: Path | None = Field(
        None, description="Chromium executable that draws screenshots (default: the usual places, then PATH)."
    )
    telegram_web_base: str = Field(
        "https://t.me", description="Base URL of Telegram's public web preview (t.me/s/CHANNEL pages)."
    )
    telegram_pages: int = Field(
        20, ge=1, le=1000, description="Default number of t.me/s pages read per channel capture."
    )

    model_path: Path | None = Field(
        None, description="Detector model file (.npz) to use instead of the one shipped in the package."
    )
    keys_dir: Path | None = Field(
        None,
        description="Folder of the generated hash and contact keys; keep it off the data directory's disk "
        "and backups (default: DATA_DIR/keys).",
    )
    hash_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="Secret for keyed hashes of card numbers (16+ characters); unset: a random key "
        "created once in DATA_DIR/keys/hash.key.",
    )
    store_full_card_numbers: bool = Field(
        False, description="Keep full bank card numbers (only where the legal basis allows); default masked."
    )
    contact_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="Secret (16+ characters) that seals reporters' contact addresses; unset: a random key "
        "created once in DATA_DIR/keys/contact.key.",
    )
    audit_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="Secret (16+ characters) that seals each audit entry, so rewriting the log needs it; "
        "unset: a random key created once in DATA_DIR/keys/audit.key.",
    )
    tsa_url: str | None = Field(
        None,
        description="RFC 3161 time-stamping authority (e.g. https://freetsa.org/tsr) that timestamps each "
        "day's evidence digests and the audit-chain head; unset: nothing is timestamped.",
    )
    tsa_ca_file: Path | None = Field(
        None, description="PEM file of the TSA's root (and intermediate) certificates that tokens are checked against."
    )
    tsa_timeout: float = Field(30.0, gt=0, le=600, description="Seconds one time-stamping request may take.")
    tsa_every_hours: float = Field(
        24.0, ge=0, description="How often the worker timestamps new evidence and the audit head (0: only on demand)."
    )
    host: str = Field("127.0.0.1", description="Address `shekteu serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `shekteu serve` listens on.")
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL citizens reach the web form at (links in replies)."
    )
    tip_max_photo_bytes: int = Field(
        10_000_000, ge=1000, description="Largest photo accepted with a tip (bytes); larger ones are refused."
    )
    intake_threads: int = Field(
        4, ge=1, le=64,
        description="Threads one web process stores citizen reports on at once (form, Open311, WhatsApp); "
        "a few keep a burst of reporters from starving the one holding the database's write lock.",
    )
    tip_rate_limit: int = Field(
        20,
        ge=1,
        description="Most tips one reporter (pseudonym) may send per hour; more are refused politely.",
    )
    telegram_token: SecretStr | None = Field(None, description="Telegram bot token (from @BotFather).")
    telegram_api_base: str = Field(
        "https://api.telegram.org",
        description="Bot API server base URL (a local Bot API server, or tests' fake).",
    )
    telegram_staff_chat: int | None = Field(None, description="Chat id that receives new high-score tips.")
    tip_alert_score: float = Field(
        0.8, ge=0, le=1, description="Tips scoring at least this are sent to the staff chat."
    )
    whatsapp_graph_base: str = Field(
        "https://graph.facebook.com/v21.0", description="WhatsApp Cloud API (Graph API) base URL."
    )
    whatsapp_token: SecretStr | None = Field(None, description="WhatsApp Cloud API access token.")
    whatsapp_phone_number_id: str | None = Field(None, description="WhatsApp business phone number id.")
    whatsapp_verify_token: SecretStr | None = Field(
        None, description="Token Meta sends to verify the webhook (hub.verify_token)."
    )
    whatsapp_app_secret: SecretStr | None = Field(
        None, description="App secret that signs webhook calls (X-Hub-Signature-256); unset: webhook refused."
    )
    header_timeout: float = Field(
        10, gt=0, le=300, description="Seconds `shekteu serve` waits for a request's headers before closing the connection."
    )
    keepalive_timeout: float = Field(
        5, gt=0, le=300, description="Seconds `shekteu serve` keeps an idle connection open between requests."
    )
    recheck_verify_checks: int = Field(
        3, ge=1, le=100, description="Agreeing re-checks (blocked or gone) needed before a block is verified."
    )
    recheck_verify_hours: float = Field(
        24, ge=0, le=24 * 90, description="Hours that must pass between a block and its verification."
    )
    recheck_control_url: str = Field(
        "https://www.google.com/generate_204",
        description="A known-good address fetched when a target does not answer, to tell our outage from theirs.",
    )
    session_hours: float = Field(12, gt=0, le=24 * 30, description="Hours a dashboard sign-in lasts.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins per user name and address before each further try waits twice as long "
        "(per address across names and per name across addresses: 4x)."
    )
    lookup_rate_limit: int = Field(
        30, ge=1, description="Ticket status lookups allowed per address per minute (web, Open311)."
    )
    map_tiles_url: str = Field(
        "",
        description="Map tile URL template ({z}/{x}/{y}) for the dashboard map; empty: district outlines only.",
    )
    map_tiles_attribution: str = Field("", description="Attribution shown under the map tiles.")
    field_workers: int = Field(
        0,
        ge=0,
        le=256,
        description="Threads for local field mapping (`shekteu field`); 0 = one per CPU core.",
    )
    field_min_hectares: float = Field(
        MIN_SITE_HECTARES,
        ge=0,
        le=10_000,
        description="Smallest field site kept, in hectares (0.02 ha = 200 m²).",
    )

    embedded_worker: bool = Field(
        True,
        description="`shekteu serve` and `shekteu bot` run a job worker in the same process; turn off "
        "(false) when separate `shekteu worker` processes run the queue.",
    )
    worker_concurrency: int = Field(
        2, ge=1, le=64, description="Jobs one worker process runs at once (threads)."
    )
    worker_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often an idle worker looks for due jobs, in seconds."
    )
    job_lease_seconds: int = Field(
        900,
        ge=5,
        le=86_400,
        description="How long a claimed job may run before another worker may take it over (a worker "
        "that died on another machine); a worker on the same machine is noticed at once.",
    )
    seismic_silent_minutes: float = Field(
        10.0, gt=0, le=24 * 60, description="A watched sensor with no data for this long raises a health alert."
    )
    seismic_alert_score: float = Field(
        0.5, ge=0, le=1, description="A walker or vehicle event raises an alert only at this score or above."
    )
    seismic_stream_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds without a SeedLink packet before `seismic watch` reconnects."
    )
    recheck_every_hours: float = Field(
        24.0, ge=0, le=24 * 30, description="Re-check sent and blocked takedowns this often (0: never)."
    )

    @field_validator("fetch_allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return tuple(ipaddress.ip_network(p, strict=False) for p in parts)
            except ValueError as exc:
                raise ValueError(f"not a CIDR list: {exc}") from None
        return value

    @field_validator("telegram_web_base", "whatsapp_graph_base", "public_url", "telegram_api_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("map_tiles_url")
    @classmethod
    def _tiles(cls, value: str) -> str:
        if value and (not value.startswith(("http://", "https://")) or "{z}" not in value):
            raise ValueError("must be an http(s) URL template with {z}, {x} and {y}")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shekteu.db').resolve()}"


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting, for `shekteu settings` and the docs test."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        rows.append(
            (ENV_PREFIX + name.upper(), "" if default is None else str(default), field.description or "")
        )
    return rows


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment, raising SettingsError with every problem named."""
    env = dict(os.environ if environ is None else environ)
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    problems = []
    for var in sorted(env):
        if var.upper().startswith(ENV_PREFIX) and var.upper() not in known | NOT_SETTINGS:
            hint = difflib.get_close_matches(var.upper(), known, n=1)
            problems.append(f"{var}: unknown setting" + (f" (did you mean {hint[0]}?)" if hint else ""))
    if problems:
        raise SettingsError("; ".join(problems))
    values = {
        name: env[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() in env
    }
    try:
        # Validated from `values` alone, so that `environ` (not os.environ) is what counts.
        return Settings.model_validate(values)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            msgs.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("; ".join(msgs)) from None
