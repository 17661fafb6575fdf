"""The running platform: settings, database and evidence store, opened once per process.

Adapters (CLI now; web, bot later) build one Runtime and pass it to library functions, which is
what keeps them thin and the library testable against a temporary data directory.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from shekteu.db import Database
from shekteu.evidence import EvidenceStore
from shekteu.processes import ProcessPool, pool_size
from shekteu.settings import Settings, load_settings

if TYPE_CHECKING:
    from shekteu.detect.model import Detector
    from shekteu.indicators.extract import CardPolicy


@dataclass
class Runtime:
    settings: Settings
    db: Database = field(init=False)
    store: EvidenceStore = field(init=False)
    processes: ProcessPool = field(init=False)  # CPU work of captures and analysis (processes.py)

    def __post_init__(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(
            self.settings.resolved_database_url,
            audit_key=audit_key(self.settings),
            audit_witness=keys_dir(self.settings) / "audit-head.json",
        )
        self.store = EvidenceStore(self.settings.data_dir)
        self.processes = ProcessPool(pool_size(self.settings.capture_processes))

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(load_settings())

    @property
    def detector(self) -> Detector:
        """SHEKTEU_MODEL_PATH if set, else the model promoted in the registry, else the packaged one.

        Looked up on each use (one indexed query; files are loaded once), so a promotion reaches a
        running server without a restart."""
        from shekteu.detect.model import load_detector

        path = self.settings.model_path
        if path:
            return load_detector(str(path))
        from shekteu.detect import registry

        with self.db.read() as session:
            return registry.in_use(session)

    @property
    def models_dir(self) -> Path:
        return self.settings.data_dir / "models"

    @cached_property
    def card_policy(self) -> CardPolicy:
        from shekteu.indicators.extract import CardPolicy

        return CardPolicy(hash_key(self.settings), self.settings.store_full_card_numbers)

    def close(self) -> None:
        self.processes.close()
        self.db.close()


def hash_key(settings: Settings) -> bytes:
    """The secret for keyed hashes: the setting, or a random key created once in the keys folder
    (``SHEKTEU_KEYS_DIR``; by default inside the data dir, which a copy of the data dir then carries)."""
    return _key(settings, settings.hash_key, "hash.key")


def contact_key(settings: Settings) -> bytes:
    """The secret that seals reporters' contact addresses (setting, or a key file in the data dir)."""
    return _key(settings, settings.contact_key, "contact.key")


def audit_key(settings: Settings) -> bytes:
    """The secret that seals audit entries (``audit.py``): without it a rewritten log shows."""
    return _key(settings, settings.audit_key, "audit.key")


def keys_dir(settings: Settings) -> Path:
    return Path(settings.keys_dir or Path(settings.data_dir) / "keys")


def _key(settings: Settings, value: SecretStr | None, name: str) -> bytes:
    if value is not None:
        return value.get_secret_value().encode()
    path = keys_dir(settings) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
