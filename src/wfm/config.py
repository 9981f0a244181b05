"""Where things live: the home folder of `interface.md` and the paths inside it, which every stage of the flow
reads and writes (inbox, warehouse, archive, published snapshot).

Every command takes `--home DIR` or `WFM_HOME` (default `./data`). The project root (for `dbt_project/` and
`expectations/`) is the checkout this package is installed from in editable mode, or `WFM_PROJECT_DIR`.

A home holds deliveries with personal data in clear (inbox, archive, rejected): it is private. `Home.ensure`
sets the process's umask from `WFM_UMASK` (default `077`: folders 0700, files 0600, for the service's user
alone; `027` lets a service group read, e.g. a BI tool's user reading `published/`) and brings the home's own
folders to that mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wfm.errors import WfmError

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
    def chart_cache(self) -> Path:
        """The bulletin's charts as last drawn, by what they show (`wfm.publish.charts.Charts`)."""
        return self.root / "cache" / "charts"

    @property
    def gx(self) -> Path:
        """Great Expectations' file context: stores, and the Data Docs site."""
        return self.root / "gx"

    def ensure(self) -> Home:
        """Create the home's folders, private (see the module's docstring), and return the home."""
        mask = umask()
        os.umask(mask)
        folders = (self.inbox("survey"), self.inbox("enterprise"), self.archive, self.rejected, self.published)
        for path in folders:
            path.mkdir(parents=True, exist_ok=True)
        for path in (self.root, self.root / "inbox", *folders):
            path.chmod(0o777 & ~mask)
        for path in self.root.glob(WAREHOUSE_FILE + "*"):  # a warehouse made before the mask was in force
            path.chmod(0o666 & ~mask)
        return self


def umask() -> int:
    """The mask for everything a home holds: `WFM_UMASK` (octal; default 077)."""
    text = os.environ.get("WFM_UMASK", "077")
    try:
        mask = int(text, 8)
    except ValueError:
        raise WfmError(f"WFM_UMASK must be an octal mask such as 077 or 027, not {text!r}", rule="config") from None
    if not 0 <= mask <= 0o777 or mask & 0o700:
        raise WfmError(f"WFM_UMASK {text!r} would lock the service out of its own home", rule="config")
    return mask
