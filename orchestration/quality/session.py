"""One Great Expectations context per gate run: validation and Data Docs under the warehouse.

The context is ephemeral (suites come from our files, not from a GX project), except for two
folders of the warehouse: `<warehouse>/gx/validations` keeps the latest validation results of
every suite as JSON, and `<warehouse>/data_docs` is the HTML site built from them. Every gate
step of a run (raw, then seeds and marts) writes there and rebuilds the index, so the site shows
the latest result of every suite. Results of a suite on an asset from earlier runs are removed
when it is validated again on that asset, so the site does not grow night after night. A batch
validated in chunks has one result per chunk; the figures of a suite are a data asset of their
own (`raw.deals.figures`), validated by the suite's figure expectations (`<suite>__figures`).

GX is imported here, inside `GxSession`, never at module import: it costs ~3 s.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.quality.results import ExpectationOutcome, SuiteOutcome, add_up, from_gx
from orchestration.quality.suites import FIGURES_SUFFIX, SuiteFile, build_gx_suite

if TYPE_CHECKING:
    import pandas as pd

SITE = "warehouse_quality"


def import_gx_in_background() -> threading.Thread:
    """Start importing Great Expectations (≈ 3–5 s of Python) in a thread, so that it overlaps
    the ingestion, which runs in DuckDB and leaves the interpreter free. The first gate then
    finds the module imported. A failure here is left for the gate to raise with its context.

    What this thread and the step's thread both use is imported first, here in the caller's
    thread: a half-imported `sqlalchemy.orm` has already registered its inspectors, and
    Dagster's event storage (SQLAlchemy core, in the step's thread) once failed on its
    half-initialised `sqlalchemy.orm.exc` while this thread was importing it."""
    import pandas  # noqa: F401
    import sqlalchemy.orm  # noqa: F401

    def run() -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        with contextlib.suppress(Exception):
            import great_expectations  # noqa: F401
            from great_expectations.data_context.types import base  # noqa: F401

    thread = threading.Thread(target=run, name="import-great-expectations", daemon=True)
    thread.start()
    return thread


PARTIAL_UNEXPECTED = 20


def data_asset_label(asset: str) -> str:
    """The GX data asset of a Dagster asset key (`raw/deals` -> `raw.deals`): GX's file stores
    do not allow '/' in keys."""
    return asset.replace("/", ".")


class GxSession:
    def __init__(self, warehouse_dir: Path, run_name: str):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.run_name = run_name
        self.results_dir = warehouse_dir / "gx" / "validations"
        self.docs_dir = warehouse_dir / "data_docs"
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        config.stores[config.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(self.results_dir),
        }
        config.data_docs_sites = {
            SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
        self._gx = gx
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        # No tqdm bars in the Dagster logs (TQDM_DISABLE does not work; STACK.md).
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._datasource = self.context.data_sources.add_pandas("build_duckdb")
        self._batch_definitions: dict[str, Any] = {}
        self._suites: dict[str, Any] = {}
        self._validated: set[str] = set()
        self._pruned: set[tuple[str, str]] = set()
        self._definitions: dict[tuple[str, str], Any] = {}

    def _batch_definition(self, label: str) -> Any:
        if label not in self._batch_definitions:
            asset = self._datasource.add_dataframe_asset(name=label)
            self._batch_definitions[label] = asset.add_batch_definition_whole_dataframe("batch")
        return self._batch_definitions[label]

    def _suite(self, suite: SuiteFile, figures: bool) -> Any:
        name = suite.name + (FIGURES_SUFFIX if figures else "")
        if name not in self._suites:
            self._suites[name] = self.context.suites.add(build_gx_suite(suite, figures))
        return self._suites[name]

    def _prune(self, suite_name: str, label: str) -> None:
        """Drop the suite's results (JSON and HTML) on this data asset from other runs than
        this one: the site shows each suite's latest run."""
        for root in (self.results_dir / suite_name, self.docs_dir / "validations" / suite_name):
            if not root.is_dir():
                continue
            for run_dir in root.iterdir():
                if run_dir.name == self.run_name or not run_dir.is_dir():
                    continue
                for path in run_dir.rglob(f"*-{label}.*"):
                    path.unlink(missing_ok=True)
                for folder in [*sorted(run_dir.rglob("*"), reverse=True), run_dir]:
                    if folder.is_dir() and not any(folder.iterdir()):
                        folder.rmdir()

    def _forget(self, suite_name: str, run_ids: list[Any]) -> None:
        """Remove the stored results of validations of the suite (replaced by others)."""
        store = self.context.validation_results_store
        for stored in store.list_keys():
            if (
                getattr(stored, "expectation_suite_identifier", None) is not None
                and stored.expectation_suite_identifier.name == suite_name
                and stored.run_id in run_ids
            ):
                store.remove_key(stored)

    def _definition(self, suite: SuiteFile, asset: str, figures: bool) -> Any:
        label = data_asset_label(asset) + (".figures" if figures else "")
        name = suite.name + (FIGURES_SUFFIX if figures else "")
        if (name, label) not in self._pruned:
            self._prune(name, label)
            self._pruned.add((name, label))
        self._validated.add(name)
        if (name, label) not in self._definitions:
            self._definitions[(name, label)] = self.context.validation_definitions.add(
                self._gx.ValidationDefinition(
                    name=f"{name} on {asset}",
                    data=self._batch_definition(label),
                    suite=self._suite(suite, figures),
                )
            )
        return self._definitions[(name, label)]

    def validate(
        self,
        suite: SuiteFile,
        outcome: SuiteOutcome,
        frames: Iterable[pd.DataFrame],
        parameters: Mapping[str, object],
        figures: bool = False,
        key: tuple[str, ...] = (),
    ) -> tuple[list[ExpectationOutcome], list[Any]]:
        """Validate each frame (the chunks of one batch, or the one row of figures) against
        the suite's row (or figure) expectations. Without `key`, with BASIC detail: counts,
        observed values and sample values, at half the cost of SUMMARY. With `key`, with
        SUMMARY detail and the failing rows' keys. Returns the outcomes, added up over the
        chunks, and the ids of the runs that stored them."""
        from great_expectations.core.run_identifier import RunIdentifier

        definition = self._definition(suite, outcome.asset, figures)
        used = suite.parameters_used()
        expectation_parameters = {k: v for k, v in parameters.items() if k in used}
        result_format: Any = "BASIC"
        if key:
            result_format = {
                "result_format": "SUMMARY",
                "partial_unexpected_count": PARTIAL_UNEXPECTED,
                "unexpected_index_column_names": list(key),
            }
        parts: list[list[ExpectationOutcome]] = []
        run_ids: list[Any] = []
        started = time.perf_counter()
        for frame in frames:
            run_id = RunIdentifier(run_name=self.run_name)
            result = definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=expectation_parameters,
                result_format=result_format,
                run_id=run_id,
            )
            run_ids.append(run_id)
            parts.append(from_gx(result, key))
            if not figures:
                outcome.chunks += 1
        outcome.seconds += time.perf_counter() - started
        return add_up(parts), run_ids

    def forget(self, suite: SuiteFile, run_ids: list[Any]) -> None:
        """Drop results of the suite's row expectations that a detailed run replaces."""
        self._forget(suite.name, run_ids)

    def build_docs(self, outcomes: list[SuiteOutcome]) -> Path:
        """Render this session's results and the site index; link each outcome to its page."""
        from great_expectations.data_context.types.resource_identifiers import (
            ValidationResultIdentifier,
        )

        store = self.context.validation_results_store
        ours = [
            key
            for key in store.list_keys()
            if isinstance(key, ValidationResultIdentifier)
            and key.run_id.run_name == self.run_name
            and key.expectation_suite_identifier.name in self._validated
        ]
        self.context.build_data_docs(site_names=[SITE], resource_identifiers=ours)
        pages: dict[tuple[str, str], str] = {}
        for key in ours:
            # batch identifier: "<datasource>-<data asset>", e.g. "build_duckdb-raw.deals"
            label = str(key.batch_identifier).split("-", 1)[-1]
            for site in self.context.get_docs_sites_urls(
                resource_identifier=key, site_name=SITE, only_if_exists=True
            ):
                if site.get("site_url"):
                    pages[(key.expectation_suite_identifier.name, label)] = site["site_url"]
        for outcome in outcomes:
            page = pages.get((outcome.suite, data_asset_label(outcome.asset)))
            if page:
                outcome.docs_page = page
        return self.docs_dir / "index.html"
