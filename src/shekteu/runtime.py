"""The running platform: settings, database and evidence store, opened once per process.

Adapters (CLI now; web, bot later) build one Runtime and pass it to library functions, which is
what keeps them thin and the library testable against a temporary data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shekteu.db import Database
from shekteu.evidence import EvidenceStore
from shekteu.settings import Settings, load_settings


@dataclass
class Runtime:
    settings: Settings
    db: Database = field(init=False)
    store: EvidenceStore = field(init=False)

    def __post_init__(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.resolved_database_url)
        self.store = EvidenceStore(self.settings.data_dir)

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(load_settings())

    def close(self) -> None:
        self.db.close()
