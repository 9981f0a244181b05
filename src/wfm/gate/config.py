"""The gate's tunable numbers: bands, thresholds and reference totals, with the defaults the design sets; what
the batch gate (between ingest and raw) and the marts gate (between the build and publishing) compare with.

They reach the suites in two ways: as GX expectation parameters (`{$PARAMETER: name}` in a suite file) for the
bounds an expectation checks, and as DuckDB query parameters (`$name` in a profile) for the reference data a
profile compares with. Defaults live here; `expectations/gate_config.json` overrides them without a code change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wfm.config import PROJECT_DIR
from wfm.errors import WfmError

EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
CONFIG_FILE = EXPECTATIONS_DIR / "gate_config.json"


@dataclass(frozen=True)
class GateConfig:
    #: the wave's weight total may differ from its reference by at most this share (0.25 = ±25 %)
    weight_band: float = 0.25
    #: population total per wave (`"2026"`, `"2026Q3"`): when set, it replaces the previous wave's weight total
    population_totals: Mapping[str, float] = field(default_factory=dict)
    #: the strata of the sample design: when set, it replaces the previous wave's strata as the list to cover
    design_strata: tuple[str, ...] | None = None
    #: a question left empty by more than this share of those asked is flagged (warning)
    item_nonresponse_max: float = 0.20
    #: employees and payroll totals may differ from the previous period by at most this share (warning)
    enterprise_total_band: float = 0.30
    #: validations of each suite kept in GX's store and Data Docs (audit.validation_results keeps them all)
    docs_history: int = 10

    def __post_init__(self) -> None:
        for name in ("weight_band", "item_nonresponse_max", "enterprise_total_band"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise WfmError(
                    f"gate setting {name} must be a share between 0 and 1, not {value!r}", rule="gate_config"
                )
        if not isinstance(self.docs_history, int) or self.docs_history < 1:
            raise WfmError(
                f"gate setting docs_history must be a positive integer, not {self.docs_history!r}", rule="gate_config"
            )
        for wave, total in self.population_totals.items():
            if not isinstance(total, int | float) or total <= 0:
                raise WfmError(
                    f"population total for {wave} must be a positive number, not {total!r}", rule="gate_config"
                )
        if self.design_strata is not None:
            object.__setattr__(self, "design_strata", tuple(str(s) for s in self.design_strata))

    @classmethod
    def load(cls, path: Path | None = None) -> GateConfig:
        """The defaults, overridden by the keys of `path` (default `expectations/gate_config.json`, if present)."""
        path = path or CONFIG_FILE
        if not path.exists():
            return cls()
        try:
            values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise WfmError(f"gate configuration is not valid JSON: {exc}", file=str(path), rule="gate_config") from exc
        known = {f.name for f in fields(cls)}
        # a misspelt key would silently fall back to a default: refuse it ("_comment"-style keys are notes)
        unknown = sorted(k for k in values if k not in known and not k.startswith("_"))
        if unknown:
            raise WfmError(
                f"unknown gate settings {unknown}; known: {sorted(known)}", file=str(path), rule="gate_config"
            )
        values = {k: v for k, v in values.items() if k in known}
        if values.get("design_strata") is not None:
            values["design_strata"] = tuple(values["design_strata"])
        return cls(**values)

    def expectation_parameters(self) -> dict[str, float]:
        """The `$PARAMETER` values the suite files refer to."""
        return {
            "weight_ratio_min": 1 - self.weight_band,
            "weight_ratio_max": 1 + self.weight_band,
            "item_nonresponse_max": self.item_nonresponse_max,
            "enterprise_ratio_min": 1 - self.enterprise_total_band,
            "enterprise_ratio_max": 1 + self.enterprise_total_band,
        }

    def query_parameters(self) -> dict[str, Any]:
        """The `$name` values profile queries may use (each query receives only those it mentions)."""
        return {
            "population_totals": json.dumps(dict(self.population_totals)),
            "design_strata": list(self.design_strata) if self.design_strata is not None else None,
        }
