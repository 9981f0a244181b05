"""Publishing: the readers' copy of the marts — snapshot, Parquet and exports of one version — switched in
atomically (`snapshot`), with the exports written from that snapshot alone (`exports`, `sdmx`, `excel`,
under the rules of `safety`)."""

from wfm.publish.snapshot import MARTS_SCHEMA, publish, published_tables

__all__ = ["MARTS_SCHEMA", "publish", "published_tables"]
