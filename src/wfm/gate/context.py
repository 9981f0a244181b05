"""The Great Expectations half of the gate: one file-mode context per home, reused for the life of the process.

Creating a context, registering the pandas datasource and the three suites costs a good fraction of a second (the
import of GX itself a few seconds), so it happens once per process and home; each validation then is a checkpoint
run on a frame of a few hundred rows. The validation results land in GX's own store in `home.gx`; the Data Docs
site there is brought up to date from that store by `build_docs` (the pages it lacks, the suites, the index),
after each validation by default, or once after a run of validations (rendering costs more than validating).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import great_expectations as gx
import pandas as pd
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

from wfm.gate import docs_offline
from wfm.gate.suites import SuiteSpec

DATASOURCE = "wfm_gate_profiles"
BATCH_DEFINITION = "whole_frame"
DOCS_SITE = "local_site"
#: BASIC gives the counts and the first unexpected values, which is all an audit note needs (the gate finds the
#: rows' labels in its own frame). SUMMARY's value counts and index lists made the validation half as slow again.
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 20}


class GxSession:
    """A file context plus the checkpoints registered in it, one per suite."""

    def __init__(self, gx_dir: Path) -> None:
        self.gx_dir = gx_dir
        drop_broken_files(gx_dir)
        self.context = gx.get_context(mode="file", context_root_dir=str(gx_dir))
        # GX draws a tqdm bar per metric computation on stderr unless the context says otherwise; this is the
        # supported switch (`progress_bars` in great_expectations.yml), saved so the file context keeps it.
        bars = self.context.variables.progress_bars
        if not bars or bars.get("globally", True) or bars.get("metric_calculations", True):
            self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            self.context.variables.save()
        # The gate substitutes no ${variables}; with a variables file configured, GX reads and parses that YAML
        # again on every access to its settings (about 70 times a validation, 0.15 s). Saved, so the contexts
        # of later runs start without it.
        if self.context.variables.config_variables_file_path:
            self.context.variables.config_variables_file_path = None
            self.context.variables.save()
        # replacing the datasource drops assets a previous version of the code registered
        self.datasource = self.context.data_sources.add_or_update_pandas(DATASOURCE)
        self.checkpoints: dict[str, gx.Checkpoint] = {}
        #: suites whose Data Docs page this process rendered since it registered them (`build_docs`)
        self.rendered_suites: set[str] = set()
        self.lock = threading.RLock()  # a GX context is not safe to share between threads

    def checkpoint(self, suite: SuiteSpec) -> gx.Checkpoint:
        with self.lock:
            if suite.name not in self.checkpoints:
                asset = self.datasource.add_dataframe_asset(suite.name)
                batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
                gx_suite = self.context.suites.add_or_update(suite.to_gx())
                self.rendered_suites.discard(suite.name)
                validation = self.context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=f"wfm_{suite.name}", data=batch_definition, suite=gx_suite)
                )
                self.checkpoints[suite.name] = self.context.checkpoints.add_or_update(
                    gx.Checkpoint(
                        name=f"wfm_{suite.name}",
                        validation_definitions=[validation],
                        actions=[],
                        result_format=RESULT_FORMAT,
                    )
                )
            return self.checkpoints[suite.name]

    def prune(self, suite: str, keep: int) -> None:
        """Keep the newest `keep` stored results of the suite; the Data Docs build drops the pages of the others.

        The Data Docs index loads every stored result on every build, so a store that only grows makes each gate
        slower (about half a second per hundred results). audit.validation_results is the permanent record.
        """
        store = self.context.validation_results_store
        keys = [k for k in store.list_keys() if k.expectation_suite_identifier.name == suite]
        keys.sort(key=lambda k: k.run_id.run_time, reverse=True)
        for key in keys[keep:]:
            store.remove_key(key)
        # GX leaves the emptied run folders behind (its rrmdir never finds a folder empty); drop them so the
        # store's directory walk stays short too
        base = getattr(store.store_backend, "full_base_directory", None)
        if keys[keep:] and base:
            for folder in sorted(Path(base).glob(f"{suite}/**/"), key=lambda p: len(p.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()

    def validate(
        self,
        suite: SuiteSpec,
        frame: pd.DataFrame,
        parameters: dict[str, Any],
        run_name: str,
        keep: int,
        docs: bool = True,
    ) -> ExpectationSuiteValidationResult:
        """Validate `frame` against `suite` and store the result; `docs` rebuilds the Data Docs afterwards."""
        with self.lock:
            self.prune(suite.name, max(keep - 1, 0))  # this run adds one
            result = self.checkpoint(suite).run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters,
                run_id=gx.RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
            )
        if docs:
            self.build_docs()
        return next(iter(result.run_results.values()))

    def prepare(self, suite: SuiteSpec) -> None:
        """Do ahead what a validation of `suite` and the Data Docs after it will need and that does not depend
        on the data: register the suite's checkpoint, render the pages the site lacks. The night calls it while
        dbt builds in its own process and this one only waits, leaving the marts' gate less to do after it."""
        self.checkpoint(suite)
        self.build_docs()

    def build_docs(self) -> Path:
        """Render the Data Docs pages the site lacks, the suites' pages and the index; return the index.

        A page, once rendered from a stored result, never changes, so only the results without one are
        rendered: this run's, and those of a run that ended before rendering its own. A suite's page is
        rendered once per process (a suite changes with the code, and `checkpoint` registers it again from
        the code in each process), and the index is rebuilt from every stored result, dropping the pages of
        results `prune` removed. Rendering every stored result again, as a plain `build_data_docs` does, would
        make each night's Data Docs cost grow with the `docs_history` results kept per suite.
        """
        with self.lock:
            stored = self.context.validation_results_store.list_keys()
            unrendered: list[Any] = [key for key in stored if not self._page(key).exists()]
            every_suite = list(self.context.expectations_store.list_keys())
            suites = [key for key in every_suite if key.name not in self.rendered_suites]
            # GX renders every page when given none to render: then the suites, which are few, are rendered again
            render = unrendered + suites or every_suite
            self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=render)
            self.rendered_suites.update(key.name for key in every_suite if key in render)
            site = self.docs_index.parent
            # served from the site, not from CDNs (docs_offline): the pages just rendered, or all on a new site
            if docs_offline.install(site) or render is every_suite:
                docs_offline.rewrite(site)
            else:
                docs_offline.rewrite(
                    site, [self.docs_index, *site.glob("expectations/*.html"), *map(self._page, unrendered)]
                )
        return self.docs_index

    def _page(self, key: ValidationResultIdentifier) -> Path:
        """Where the Data Docs page of a stored validation result is (or would be)."""
        (site,) = self.context.get_docs_sites_urls(resource_identifier=key, site_name=DOCS_SITE, only_if_exists=False)
        return Path(unquote(urlparse(site["site_url"]).path))

    @cached_property
    def docs_index(self) -> Path:
        with self.lock:  # it reads the context's configuration, which another thread's validation may be using
            for site in self.context.get_docs_sites_urls(site_name=DOCS_SITE):
                url = site.get("site_url") or ""
                if url.startswith("file://"):
                    return Path(unquote(urlparse(url).path))
        return self.gx_dir / "uncommitted" / "data_docs" / DOCS_SITE / "index.html"


def drop_broken_files(gx_dir: Path) -> list[Path]:
    """Remove what a write cut short (a full disk, a killed process) left in Great Expectations' folder: a
    stored result, suite, checkpoint or configuration that is empty or not valid JSON or YAML, and an empty
    Data Docs page. Great Expectations would fail on them in every later run; all of them are made again (the
    suites and checkpoints from the code, the pages from the results), and `audit.validation_results` is the
    record of every validation. Returns what was removed."""
    removed = []
    for path in sorted(gx_dir.rglob("*")) if gx_dir.is_dir() else []:
        if not path.is_file() or path.suffix not in {".json", ".yml", ".html"}:
            continue
        if path.stat().st_size and path.suffix != ".json":
            continue
        try:
            if path.suffix == ".json":
                json.loads(path.read_bytes())
            else:
                raise ValueError("empty")
        except ValueError:
            path.unlink()
            removed.append(path)
    return removed


@dataclass
class _Sessions:
    by_dir: dict[Path, GxSession]
    lock: threading.Lock


_SESSIONS = _Sessions({}, threading.Lock())


def session(gx_dir: Path) -> GxSession:
    """The process's context for this GX folder, created on first use."""
    gx_dir = gx_dir.resolve()
    with _SESSIONS.lock:
        if gx_dir not in _SESSIONS.by_dir:
            _SESSIONS.by_dir[gx_dir] = GxSession(gx_dir)
        return _SESSIONS.by_dir[gx_dir]
