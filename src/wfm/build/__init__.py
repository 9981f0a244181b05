"""Building the indicators: one `dbt build` of `dbt_project/` against the warehouse.

`planning` decides what the build recomputes (every period, or those of new batches), `dbt` runs dbt (in this
process or in the night's `worker`, which imported dbt and parsed the project while the files were ingested),
`project` says where the dbt project and its artifacts are.
"""

from wfm.build.dbt import BuildFailed, BuildResult, build
from wfm.build.planning import BuildPlan, plan
from wfm.build.project import dbt_log, dbt_paths
from wfm.build.worker import DbtWorker

__all__ = ["BuildFailed", "BuildPlan", "BuildResult", "DbtWorker", "build", "dbt_log", "dbt_paths", "plan"]
