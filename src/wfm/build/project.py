"""The dbt project and where its artifacts go: `dbt_project/` in the checkout, `dbt/` in each home; what
`wfm.build` and the night's worker pass to dbt."""

from __future__ import annotations

from pathlib import Path

from wfm.config import PROJECT_DIR

DBT_DIR = PROJECT_DIR / "dbt_project"

#: the kinds of dbt node that make a table or view in the warehouse (see `makes_relation`)
_MADE = ("model", "seed", "snapshot")


def dbt_paths(warehouse: Path) -> tuple[Path, Path]:
    """dbt's target folder (compiled SQL, run results, docs) and log folder for a warehouse: `dbt/target` and
    `dbt/logs` in its home, beside `warehouse.duckdb`.

    Per home rather than in the checkout: builds of two homes from one checkout (the nightly job's and a
    statistician's trial home, or the test suite's) would overwrite each other's run results, and each would
    find the other's profile in dbt's partial-parse state and parse the whole project again."""
    base = Path(warehouse).resolve().parent / "dbt"
    return base / "target", base / "logs"


def dbt_log(warehouse: Path) -> Path:
    """dbt's log file for a warehouse's builds, which every failure message names."""
    return dbt_paths(warehouse)[1] / "dbt.log"


def makes_relation(resource_type: object, materialized: object) -> bool:
    """Whether a dbt node makes a table or view in the warehouse (a model materialised as ephemeral makes
    neither); for the manifest's objects (`_Outcome.of`) and its JSON (`_manifest_relations`) alike."""
    return str(resource_type) in _MADE and materialized != "ephemeral"
