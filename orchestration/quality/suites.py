"""Expectation suite files (`expectations/**/*.json`): reading them and what each one needs.

A suite file is a Great Expectations 1.x ExpectationSuite in JSON (`name`, `expectations`,
`meta`, optional `notes`) whose `meta` also says which Dagster assets it guards and how its batch
is drawn from the build database (see expectations/README.md). Reading a file here needs only
`json`: the definitions list the checks without importing Great Expectations (~3 s), and the
expectations themselves are turned into GX objects when a check runs (`build_gx_suite`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import great_expectations as gx

SUITE_KEYS = {"name", "expectations", "meta", "notes", "id", "suite_parameters"}
EXPECTATION_KEYS = {"type", "kwargs", "meta", "severity", "notes", "description", "id"}
SEVERITIES = ("critical", "warning", "info")
# Keyword arguments of GX expectations that name columns of the batch.
_COLUMN_ARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_ARGS = ("column_list",)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A blocking expectation names the rule of SPEC.md it enforces in `meta.spec`, by section:
# "§3 amount ≥ 0", "§6 One grain per mart" (SPEC §7 "What may block").
SPEC_FIELD = "spec"
_SPEC_SECTION = re.compile(r"^§\d+\b")


# Expectations that judge each row on its own (and the schema ones, which see the columns):
# validated chunk by chunk, their counts add up. Others see the whole batch at once.
ROW_WISE_PREFIXES = (
    "expect_column_values_to_",
    "expect_column_pair_values_",
    "expect_multicolumn_values_to_",
)
NOT_ROW_WISE = {"expect_column_values_to_be_unique", "expect_multicolumn_values_to_be_unique"}
SCHEMA_EXPECTATIONS = {
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_column_to_exist",
    "expect_table_column_count_to_equal",
}


def expectation_columns(exp: dict[str, Any]) -> list[str]:
    """The columns an expectation's kwargs name, in order."""
    kwargs = exp.get("kwargs", {})
    names = [kwargs[a] for a in _COLUMN_ARGS if isinstance(kwargs.get(a), str)]
    for arg in _COLUMN_LIST_ARGS:
        if isinstance(kwargs.get(arg), list):
            names += [n for n in kwargs[arg] if isinstance(n, str)]
    return names


class SuiteError(ValueError):
    """A suite file cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class BatchSpec:
    """How a suite's batch is drawn from the build database.

    `table`: schema.table; `where`: an optional SQL filter; `key`: columns that identify a row
    (shown for failing rows); `derived_columns`: name -> SQL expression over the table, computed
    in DuckDB (rules across columns, normalised codes, window totals) and validated like any
    column. `changed`: an optional SQL condition naming the rows that the current load adds or
    replaces: while the suite, the seeds and GX are those of the last validation of every row,
    the row expectations run on these rows only. `figures`: name -> SQL expression computed by
    DuckDB over the batch's rows (`batch`) and any table (key uniqueness, foreign keys, row
    counts): one row of figures that the expectations naming them validate.
    """

    table: str
    key: tuple[str, ...] = ()
    where: str | None = None
    derived_columns: dict[str, str] = field(default_factory=dict)
    changed: str | None = None
    figures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteFile:
    path: Path
    name: str
    guards: tuple[tuple[str, ...], ...]
    batch: BatchSpec
    expectations: tuple[dict[str, Any], ...]
    notes: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def check_name(self) -> str:
        """The Dagster check name: the suite name, prefixed so it never clashes with dbt's."""
        return f"gx_{self.name}"

    def row_expectations(self) -> tuple[dict[str, Any], ...]:
        """The expectations on the batch's rows (every one that names no figure)."""
        return tuple(e for e in self.expectations if not self.names_figure(e))

    def figure_expectations(self) -> tuple[dict[str, Any], ...]:
        """The expectations on the one row of figures (`meta.batch.figures`)."""
        return tuple(e for e in self.expectations if self.names_figure(e))

    def names_figure(self, exp: dict[str, Any]) -> bool:
        return bool(set(expectation_columns(exp)) & set(self.batch.figures))

    def row_wise(self) -> bool:
        """Whether every row expectation judges each row on its own (or the columns only), so
        that the rows may be validated in chunks and the results added up."""
        return all(
            e["type"] in SCHEMA_EXPECTATIONS
            or (e["type"].startswith(ROW_WISE_PREFIXES) and e["type"] not in NOT_ROW_WISE)
            for e in self.row_expectations()
        )

    def columns_needed(self, table_columns: set[str], with_key: bool = True) -> list[str]:
        """Table columns the row expectations (and, `with_key`, the key) refer to, in order of
        mention."""
        wanted: list[str] = []
        for exp in self.row_expectations():
            wanted += expectation_columns(exp)
        if with_key:
            wanted += list(self.batch.key)
        seen: set[str] = set()
        result = []
        for name in wanted:
            if (
                name in table_columns
                and name not in self.batch.derived_columns
                and name not in seen
            ):
                seen.add(name)
                result.append(name)
        return result

    def column_uses(self) -> dict[str, set[str]]:
        """Column -> the expectation types that name it (multi-column ones as `pair`)."""
        uses: dict[str, set[str]] = {}
        for exp in self.row_expectations():
            kwargs = exp.get("kwargs", {})
            if isinstance(kwargs.get("column"), str):
                uses.setdefault(kwargs["column"], set()).add(exp["type"])
            for arg in ("column_A", "column_B"):
                if isinstance(kwargs.get(arg), str):
                    uses.setdefault(kwargs[arg], set()).add("pair")
            for name in kwargs.get("column_list") or []:
                if isinstance(name, str):
                    uses.setdefault(name, set()).add("pair")
        return uses

    def parameters_used(self) -> set[str]:
        """Names of `{"$PARAMETER": name}` values in the expectations' kwargs."""
        found: set[str] = set()
        for exp in self.expectations:
            for value in exp.get("kwargs", {}).values():
                if isinstance(value, dict) and "$PARAMETER" in value:
                    found.add(str(value["$PARAMETER"]))
        return found


def _fail(path: Path, message: str) -> SuiteError:
    return SuiteError(f"{path}: {message}")


def _parse_guards(path: Path, value: object) -> tuple[tuple[str, ...], ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _fail(path, 'meta.guards must list asset keys such as "raw/deals"')
    return tuple(tuple(part for part in item.split("/") if part) for item in items)


def _parse_batch(path: Path, value: object) -> BatchSpec:
    if not isinstance(value, dict) or not isinstance(value.get("table"), str):
        raise _fail(path, 'meta.batch.table must name a table, e.g. "raw.deals"')
    unknown = set(value) - {"table", "key", "where", "derived_columns", "changed", "figures"}
    if unknown:
        raise _fail(path, f"meta.batch has unknown field(s) {sorted(unknown)}")
    key = value.get("key") or []
    key = [key] if isinstance(key, str) else key
    derived = value.get("derived_columns") or {}
    if not isinstance(derived, dict) or not all(
        isinstance(k, str) and _NAME.match(k) and isinstance(v, str) for k, v in derived.items()
    ):
        raise _fail(path, "meta.batch.derived_columns must map lower_case names to SQL expressions")
    figures = value.get("figures") or {}
    if not isinstance(figures, dict) or not all(
        isinstance(k, str) and _NAME.match(k) and isinstance(v, str) for k, v in figures.items()
    ):
        raise _fail(path, "meta.batch.figures must map lower_case names to SQL expressions")
    clash = sorted(set(figures) & set(derived))
    if clash:
        raise _fail(path, f"meta.batch: {clash} is both a derived column and a figure")
    for name in ("where", "changed"):
        if value.get(name) is not None and not isinstance(value.get(name), str):
            raise _fail(path, f"meta.batch.{name} must be a SQL condition (a string)")
    return BatchSpec(
        table=value["table"],
        key=tuple(key),
        where=value.get("where"),
        derived_columns=derived,
        changed=value.get("changed"),
        figures=figures,
    )


def _check_expectation(path: Path, i: int, exp: object) -> dict[str, Any]:
    where = f"expectations[{i}]"
    if not isinstance(exp, dict) or not isinstance(exp.get("type"), str):
        raise _fail(path, f'{where} needs a "type", e.g. "expect_column_values_to_not_be_null"')
    unknown = set(exp) - EXPECTATION_KEYS
    if unknown:
        raise _fail(path, f"{where} ({exp['type']}) has unknown field(s) {sorted(unknown)}")
    if not isinstance(exp.get("kwargs", {}), dict):
        raise _fail(path, f"{where} ({exp['type']}): kwargs must be an object")
    severity = exp.get("severity", "critical")
    if severity not in SEVERITIES:
        raise _fail(path, f"{where} ({exp['type']}): severity must be one of {SEVERITIES}")
    meta = exp.get("meta") or {}
    if not isinstance(meta, dict):
        raise _fail(path, f"{where} ({exp['type']}): meta must be an object")
    spec = meta.get(SPEC_FIELD)
    if severity == "critical" and not (isinstance(spec, str) and _SPEC_SECTION.match(spec)):
        raise _fail(
            path,
            f"{where} ({exp['type']}) blocks (severity critical, the default) but its "
            f'meta.{SPEC_FIELD} does not name a section of SPEC.md, e.g. "§3 amount ≥ 0". Only '
            "a rule written in the contract may block a publish (SPEC §7): name the rule, or "
            'set "severity": "warning" for a rule about what data usually looks like.',
        )
    return exp


def parse_suite(path: Path, data: object) -> SuiteFile:
    if not isinstance(data, dict):
        raise _fail(path, "a suite file holds one JSON object")
    unknown = set(data) - SUITE_KEYS
    if unknown:
        raise _fail(path, f"unknown top-level field(s) {sorted(unknown)}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(path, '"name" must be a lower_case identifier such as "raw_deals"')
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise _fail(path, '"meta" must be an object')
    expectations = data.get("expectations")
    if not isinstance(expectations, list):
        raise _fail(path, '"expectations" must be a list')
    suite = SuiteFile(
        path=path,
        name=name,
        guards=_parse_guards(path, meta.get("guards")),
        batch=_parse_batch(path, meta.get("batch")),
        expectations=tuple(_check_expectation(path, i, e) for i, e in enumerate(expectations)),
        notes=data.get("notes") if isinstance(data.get("notes"), str) else None,
        raw=data,
    )
    figures = set(suite.batch.figures)
    for i, exp in enumerate(suite.expectations):
        named = expectation_columns(exp)
        if set(named) & figures and not set(named) <= figures:
            raise _fail(
                path,
                f"expectations[{i}] ({exp['type']}) names a figure and a column of the rows: "
                "an expectation validates either the figures or the rows",
            )
    return suite


def read_suite(path: Path) -> SuiteFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise _fail(path, f"is not valid JSON: {exc}") from exc
    return parse_suite(path, data)


def load_suites(directory: Path) -> list[SuiteFile]:
    """Every suite under `directory`, sorted by path; names must be unique."""
    suites = [read_suite(p) for p in sorted(directory.rglob("*.json"))]
    seen: dict[str, Path] = {}
    for suite in suites:
        if suite.name in seen:
            raise _fail(suite.path, f'suite name "{suite.name}" is also used by {seen[suite.name]}')
        seen[suite.name] = suite.path
    return suites


FIGURES_SUFFIX = "__figures"


def build_gx_suite(suite: SuiteFile, figures: bool = False) -> gx.ExpectationSuite:
    """The GX ExpectationSuite of a file's row expectations (`figures`: of its figure
    expectations, named `<suite>__figures`). Unlike `ExpectationSuite(**data)`, which logs and
    skips an expectation it cannot build, this raises, naming the file and the expectation."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    built = []
    part = suite.figure_expectations() if figures else suite.row_expectations()
    for i, exp in enumerate(suite.expectations):
        if not any(exp is p for p in part):
            continue
        try:
            config = ExpectationConfiguration(
                type=exp["type"],
                kwargs=dict(exp.get("kwargs", {})),
                meta={**(exp.get("meta") or {}), "psw_index": i},
                severity=exp.get("severity", "critical"),
                notes=exp.get("notes"),
                description=exp.get("description"),
            )
            built.append(config.to_domain_obj())
        except Exception as exc:  # GX raises several types for a bad configuration
            raise _fail(
                suite.path, f"expectations[{i}] ({exp['type']}) is not valid: {exc}"
            ) from exc
    gx_suite = gx.ExpectationSuite(
        name=suite.name + (FIGURES_SUFFIX if figures else ""),
        expectations=built,
        meta=dict(suite.raw.get("meta") or {}),
    )
    if len(gx_suite.expectations) != len(built):  # the constructor logs and skips, never raises
        raise _fail(suite.path, "GX refused an expectation; see the log above")
    return gx_suite
