"""The outcome of a suite, as the checks report it: per expectation, in plain words and figures.

Built from GX's ExpectationSuiteValidationResult (`from_gx`), or directly when the batch could
not even be drawn (`batch_failed`). Nothing here imports Great Expectations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SAMPLE_SIZE = 10


def _plain(value: Any) -> Any:
    """JSON-friendly scalars (numpy numbers, timestamps, NaN) for metadata."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):  # numpy float64 is a float: make it plain
        if isinstance(value, float):
            return None if math.isnan(value) else float(value)
        return bool(value) if isinstance(value, bool) else int(value)
    if hasattr(value, "isoformat") and hasattr(value, "hour"):  # datetime, pandas Timestamp
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        try:
            return _plain(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def describe_kwargs(kwargs: dict[str, Any]) -> str:
    """`column=deal_id, min_value=0`; long lists are summarised."""
    parts = []
    for name, value in kwargs.items():
        if name in ("result_format", "catch_exceptions", "batch_id"):
            continue
        if isinstance(value, (list, tuple)) and len(value) > 6:
            shown = f"[{len(value)} values]"
        elif isinstance(value, dict) and "$PARAMETER" in value:
            shown = f"${value['$PARAMETER']}"
        else:
            shown = str(_plain(value))
        parts.append(f"{name}={shown}")
    return ", ".join(parts)


@dataclass
class ExpectationOutcome:
    index: int
    type: str
    kwargs: dict[str, Any]
    severity: str
    success: bool
    observed_value: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample_values: list[Any] = field(default_factory=list)
    sample_keys: list[dict[str, Any]] = field(default_factory=list)
    missing_values: list[Any] = field(default_factory=list)
    mismatched_columns: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    missing_count: int | None = None

    @property
    def label(self) -> str:
        return f"{self.type}({describe_kwargs(self.kwargs)})"

    def finding(self, with_values: bool = True) -> str:
        """What was seen, e.g. `2 of 1,000 rows unexpected (0.2%), e.g. deal_id=D6`.
        `with_values=False` leaves out sample values (failure messages and alerts carry keys
        and counts, never a row's values); the check's metadata keeps them."""
        if self.error:
            return f"could not be evaluated: {self.error}"
        if self.mismatched_columns:
            kinds = ["missing"] + (["unexpected"] if self.kwargs.get("exact_match", True) else [])
            return "; ".join(
                f"{kind} columns {self.mismatched_columns[kind]}"
                for kind in kinds
                if self.mismatched_columns.get(kind)
            )
        if self.missing_values:
            text = f"missing values {self.missing_values}"
            if self.sample_values and with_values:
                text += f", unexpected values {self.sample_values}"
            return text
        if self.unexpected_count is not None and self.element_count is not None:
            text = f"{self.unexpected_count:,} of {self.element_count:,} rows unexpected"
            if self.element_count:
                text += f" ({100 * self.unexpected_count / self.element_count:.4g}%)"
            if self.sample_keys:
                keys = "; ".join(
                    ", ".join(f"{k}={v}" for k, v in row.items()) for row in self.sample_keys[:5]
                )
                text += f", e.g. {keys}"
            elif self.sample_values and with_values:
                text += f", e.g. values {self.sample_values[:5]}"
            return text
        return f"observed {self.observed_value!r}"

    def as_metadata(self) -> dict[str, Any]:
        return _plain(
            {
                "expectation": self.label,
                "severity": self.severity,
                "success": self.success,
                "observed_value": self.observed_value,
                "element_count": self.element_count,
                "unexpected_count": self.unexpected_count,
                "unexpected_percent": self.unexpected_percent,
                "sample_unexpected_values": self.sample_values,
                "sample_failing_keys": self.sample_keys,
                "missing_values": self.missing_values,
                "mismatched_columns": self.mismatched_columns,
                "error": self.error,
            }
        )


@dataclass
class SuiteOutcome:
    suite: str
    suite_path: str
    asset: str
    table: str
    rows: int = 0
    seconds: float = 0.0
    expectations: list[ExpectationOutcome] = field(default_factory=list)
    error: str | None = None
    docs_page: str | None = None
    # "all rows", or "changed rows" when the row expectations ran on the rows that this run's
    # loads added or replaced (meta.batch.changed)
    scope: str = "all rows"
    chunks: int = 0
    # what the result depends on besides the rows (suites.py `changed`); kept once every row
    # passed under it
    basis: str | None = None

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.failed if e.severity == "critical"]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failed

    @property
    def blocks(self) -> bool:
        """A suite that cannot run (no table, bad file) blocks like a failed critical one."""
        return self.error is not None or bool(self.blocking_failures)

    def failure_lines(self, severities: tuple[str, ...] = ("critical",)) -> list[str]:
        where = f"{self.asset} [{self.suite_path}]"
        if self.error:
            return [f"{where}: the suite could not run: {self.error}"]
        return [
            f"{where}: {e.label} failed on {self.table}: {e.finding(with_values=False)}"
            for e in self.failed
            if e.severity in severities
        ]


def _exception_message(result: Any) -> str | None:
    info = getattr(result, "exception_info", None) or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    if isinstance(info, dict):  # per-metric nesting: {metric_id: {raised_exception: ...}}
        for value in info.values():
            if isinstance(value, dict) and value.get("raised_exception"):
                return str(value.get("exception_message") or "exception")
    return None


def expectation_outcome(result: Any, key: tuple[str, ...]) -> ExpectationOutcome:
    """One ExpectationValidationResult as an ExpectationOutcome."""
    config = result.expectation_config
    details: dict[str, Any] = dict(result.result or {})
    severity = getattr(config, "severity", "critical")
    severity = getattr(severity, "value", severity) or "critical"
    keys = []
    for row in details.get("partial_unexpected_index_list") or []:
        if isinstance(row, dict):
            keys.append({k: _plain(row[k]) for k in key if k in row} or _plain(row))
    return ExpectationOutcome(
        index=int((config.meta or {}).get("psw_index", -1)),
        type=config.type,
        kwargs={k: v for k, v in dict(config.kwargs).items() if k != "batch_id"},
        severity=str(severity),
        success=bool(result.success),
        observed_value=_plain(details.get("observed_value")),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=_plain(details.get("unexpected_percent")),
        sample_values=_plain(list(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]),
        sample_keys=keys[:SAMPLE_SIZE],
        missing_values=_plain(list(details.get("partial_missing_list") or [])[:SAMPLE_SIZE]),
        mismatched_columns=_plain((details.get("details") or {}).get("mismatched") or {}),
        error=_exception_message(result),
        missing_count=details.get("missing_count"),
    )


def from_gx(gx_result: Any, key: tuple[str, ...]) -> list[ExpectationOutcome]:
    return [expectation_outcome(r, key) for r in gx_result.results]


def add_up(parts: list[list[ExpectationOutcome]]) -> list[ExpectationOutcome]:
    """The outcome of each expectation over a batch validated in chunks (row-wise
    expectations only): counts add up, samples are the first ones found, and an expectation
    passed when it passed on every chunk."""
    merged: dict[int, ExpectationOutcome] = {}
    for part in parts:
        for e in part:
            total = merged.get(e.index)
            if total is None:
                merged[e.index] = ExpectationOutcome(**{**vars(e)})
                continue
            total.success = total.success and e.success
            for name in ("element_count", "unexpected_count", "missing_count"):
                a, b = getattr(total, name), getattr(e, name)
                if a is not None or b is not None:
                    setattr(total, name, (a or 0) + (b or 0))
            total.sample_values = (total.sample_values + e.sample_values)[:SAMPLE_SIZE]
            total.sample_keys = (total.sample_keys + e.sample_keys)[:SAMPLE_SIZE]
            for kind, names in e.mismatched_columns.items():
                total.mismatched_columns.setdefault(kind, names)
            if total.observed_value is None:
                total.observed_value = e.observed_value
            total.error = total.error or e.error
    for total in merged.values():
        judged = (total.element_count or 0) - (total.missing_count or 0)
        if total.unexpected_count is not None:
            total.unexpected_percent = 100 * total.unexpected_count / judged if judged else 0.0
    return sorted(merged.values(), key=lambda e: e.index)
