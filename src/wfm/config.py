"""Where things live: the home folder of `interface.md` and the paths inside it, which every stage of the flow
reads and writes (inbox, warehouse, archive, published snapshot).

Every command takes `--home DIR` or `WFM_HOME` (default `./data`). The project root (for `dbt_project/` and
`expectations/`) is the checkout this package is installed from in editable mode, or `WFM_PROJECT_DIR`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("WFM_PROJECT_DIR", Path(__file__).resolve().parents[2]))
#: The warehouse file in every home; dbt names the database by its stem ("warehouse").
WAREHOUSE_FILE = "warehouse.duckdb"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Home:
        return cls(Path(home or os.environ.get("WFM_HOME") or "data").resolve())

    def inbox(self, source: str) -> Path:
        return self.root / "inbox" / source

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def warehouse(self) -> Path:
        return self.root / WAREHOUSE_FILE

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def gx(self) -> Path:
        """Great Expectations' file context: stores, and the Data Docs site."""
        return self.root / "gx"

    def ensure(self) -> Home:
        for path in (self.inbox("survey"), self.inbox("enterprise"), self.archive, self.rejected, self.published):
            path.mkdir(parents=True, exist_ok=True)
        return self
