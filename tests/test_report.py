"""The static strategy report: every successful refresh writes `<warehouse>/report/index.html`,
linked from the publish asset's metadata, and a real headless browser draws every chart from
it offline.

The browser is Debian's `chromium`. Without it the browser test is skipped, unless
PSW_REQUIRE_BROWSER is set (CI), where a missing browser fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from orchestration.report import build_report, fmt
from orchestration.report.definitions import load_definitions
from tests.conftest import JobRunner
from tests.fixtures import metrics

CHARTS = {
    "chart-coverage-heatmap",
    "chart-partner-mix",
    "chart-investment-mix",
    "chart-investment-category",
    "chart-playbook-fit",
    "chart-revenue-by-type",
    "chart-roi-by-type",
    "chart-active-ratio",
    "chart-new-customer-share",
    "chart-trend-active_partners",
    "chart-trend-partner_revenue_usd_in_month",
    "chart-trend-investment_usd_in_month",
    "chart-trend-roi_multiple_trailing_365d",
    "chart-history-coverage_pct",
    "chart-history-active_ratio",
    "chart-history-partner_sourced_revenue_usd",
    "chart-history-roi_multiple",
    "chart-history-composition_alignment_score",
    "chart-history-growth_stage_fit_score",
    "chart-history-enrolled_partners",
    "chart-history-qualified_partners",
    "chart-history-partner_revenue_usd",
    "chart-history-investment_usd",
    "chart-uncovered-cells",
    "chart-segment-gaps",
    "chart-partner-concentration",
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner):
    root = tmp_path_factory.mktemp("report")
    landing = metrics.write_landing(root / "landing")
    seeds = metrics.write_seeds(root / "seeds")
    outcome = job_runner.run(landing, root / "warehouse", seeds, as_of=metrics.AS_OF)
    assert outcome.success, outcome.summary()
    return outcome, root / "warehouse"


@pytest.fixture(scope="module")
def report(refreshed) -> Path:
    return refreshed[1] / "report" / "index.html"


def specs_of(html: str) -> dict:
    match = re.search(r'<script id="report-specs" type="application/json">(.*?)</script>', html)
    assert match, "the report has no chart specs block"
    return json.loads(match.group(1))


def test_refresh_writes_the_report_and_links_it_from_publish(refreshed, job_runner, monkeypatch):
    import dagster as dg

    outcome, warehouse = refreshed
    report = warehouse / "report" / "index.html"
    assert report.is_file()
    monkeypatch.setenv("DAGSTER_HOME", str(job_runner.home))
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(job_runner.home / ".dagster"))
    with dg.DagsterInstance.get() as instance:
        events = instance.all_logs(
            outcome.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        )
    [publish] = [
        e.asset_materialization
        for e in events
        if e.asset_materialization.asset_key == dg.AssetKey(["publish", "serving_warehouse"])
    ]
    assert publish.metadata["report"] == dg.MetadataValue.path(str(report))
    assert publish.metadata["report_url"] == dg.MetadataValue.url(report.resolve().as_uri())


def test_report_shows_the_scorecard_and_the_mart_definitions(report):
    html = report.read_text(encoding="utf-8")
    assert set(specs_of(html)) == CHARTS
    # the headline figures of the fixture (see tests/test_metrics.py), formatted, in order
    assert re.findall(r'<div class="kpi-value">(.*?)</div>', html) == [
        "87.8%",  # coverage 215 / 245
        "80.0%",  # active ratio 4 / 5
        "$8K",  # partner-sourced revenue 8000
        "0.13%",  # partner revenue 9400 / targeted addressable revenue 7.2M
        "1.60×",  # ROI 8000 / 5000
        "0.60",  # composition alignment
        "0.56",  # investment alignment
        "75.0%",  # program design alignment 3 / 4
        "0.71",  # growth-stage fit (0.8 + 0.75 + 0.58) / 3
    ]
    assert "<h1>Fixture Vendor: partnership strategy</h1>" in html
    assert "As of <b>2025-06-30</b>" in html
    # "how to read this" quotes the dbt docs: the YAML text, with {{ doc() }} resolved
    definitions = load_definitions()
    roi = definitions.column("mart_ecosystem_productivity", "roi_multiple")
    assert roi.startswith("partner_sourced_revenue_usd ÷ investment_usd")
    assert roi in html
    assert "{{" not in html and "doc(" not in html
    # the only uncovered targeted cell of the fixture (US enterprise retail is direct)
    assert "JP · smb · retail" in html and "US · enterprise · retail" not in html


def test_every_chart_is_valid_vega_lite(report):
    # the build does not validate (≈ 1.3 s a report): every spec is checked here instead
    import jsonschema
    from altair.vegalite.v6.schema.core import Root

    specs = specs_of(report.read_text(encoding="utf-8"))
    assert set(specs) == CHARTS
    for chart_id, spec in specs.items():
        Root.validate(spec)  # raises jsonschema.ValidationError naming the property
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6"), chart_id
    broken = {**next(iter(specs.values())), "mark": {"type": "no-such-mark"}}
    with pytest.raises(jsonschema.ValidationError, match=r"'boxplot' was expected"):
        Root.validate(broken)


def test_vega_bundle_is_built_once_per_version_and_reused(refreshed, tmp_path, monkeypatch):
    from orchestration.report import build as report_build

    out = tmp_path / "report"
    report_build.javascript_bundle.cache_clear()
    first = build_report(refreshed[1] / "serving.duckdb", out)
    cached = sorted(p.name for p in out.glob(".vega-bundle-*.js"))
    vl = report_build.vegalite_version()
    assert cached == [f".vega-bundle-vl{vl}-vlc{report_build._vl_convert_version()}.js"]
    bundle = (out / cached[0]).read_text(encoding="utf-8")
    assert bundle in first.read_text(encoding="utf-8")  # inlined whole
    assert "window.vegaEmbed=" in bundle.replace(" ", "")

    # the next build reads the file: vl-convert is not called again
    def no_bundling(**_kwargs: object) -> str:
        raise AssertionError("vl-convert bundled again despite the cached bundle")

    monkeypatch.setattr(report_build.vl_convert, "javascript_bundle", no_bundling)
    report_build.javascript_bundle.cache_clear()
    killed = [out / f".{cached[0].lstrip('.')}.0123456789ab.tmp", out / ".index.html.ab.tmp"]
    for leftover in killed:  # what a build killed while writing leaves behind
        leftover.write_text("half", encoding="utf-8")
    second = build_report(refreshed[1] / "serving.duckdb", out)
    assert bundle in second.read_text(encoding="utf-8")
    assert not list(out.glob("*.tmp"))
    # another vl-convert version is another file name: the stale bundle is not used
    monkeypatch.setattr(report_build, "_vl_convert_version", lambda: "0.0.0")
    report_build.javascript_bundle.cache_clear()
    with pytest.raises(AssertionError, match="bundled again"):
        build_report(refreshed[1] / "serving.duckdb", out)
    report_build.javascript_bundle.cache_clear()


def test_diagnostics_by_partner_type_sum_the_marts(refreshed, report):
    """The per-type diagnostics table adds up the funnel's grain (rates of sums)."""
    html = report.read_text(encoding="utf-8")
    card = html.split("Registration funnel, channel conflict, activation and health")[1]
    card = card.split("</table>")[0]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", card)]
    shown = {cells[i]: cells[i + 1 : i + 7] for i in range(0, len(cells), 7)}
    with duckdb.connect(str(refreshed[1] / "serving.duckdb"), read_only=True) as con:
        funnel = con.execute(
            "select partner_type, sum(submitted), sum(approved), sum(rejected) "
            "from marts.mart_deal_registration_funnel group by 1"
        ).fetchall()
    assert funnel, "the fixture has partner registrations"
    for partner_type, submitted, approved, rejected in funnel:
        registrations, approval = shown[partner_type][:2]
        assert registrations == fmt.integer(submitted)
        expected = approved / (approved + rejected) if approved + rejected else None
        assert approval == fmt.pct(expected)


class Resources(HTMLParser):
    """URLs the page's own elements load (script contents are not markup to the parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and "src" not in a:
            self.inline_scripts += 1
        for name in ("src", "href", "data"):
            url = a.get(name)
            if url and not url.startswith("#") and not (tag == "a" and name == "href"):
                self.urls.append(url)


def test_report_is_self_contained(report):
    html = report.read_text(encoding="utf-8")
    page = Resources()
    page.feed(html)
    assert page.urls == []  # no CDN, no stylesheet or image files: one file that opens offline
    assert page.inline_scripts == 3  # specs, the Vega bundle, the embedding code
    assert "window.vegaEmbed=" in html.replace(" ", "")


def _copy_serving(source: Path, target: Path, transform: str) -> Path:
    """A copy of `source` whose every mart is `select ... from <mart> <transform>`."""
    con = duckdb.connect(str(target))
    try:
        con.execute(f"attach '{source}' as src (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'src'"
        ).fetchall()
        for schema, table in tables:
            con.execute(f"create schema if not exists {schema}")
            suffix = transform if schema == "marts" else ""
            con.execute(
                f"create table {schema}.{table} as select * from src.{schema}.{table} {suffix}"
            )
    finally:
        con.close()
    return target


def test_empty_marts_show_na_and_do_not_crash(refreshed, tmp_path):
    serving = _copy_serving(refreshed[1] / "serving.duckdb", tmp_path / "empty.duckdb", "limit 0")
    html = build_report(serving, tmp_path / "out").read_text(encoding="utf-8")
    assert specs_of(html) == {}
    assert html.count('data-empty="true"') == len(CHARTS)
    assert html.count('<div class="kpi kpi-na"') == 9
    assert "n/a: no rows." in html


def test_null_figures_show_na(refreshed, tmp_path):
    serving = _copy_serving(refreshed[1] / "serving.duckdb", tmp_path / "nulls.duckdb", "")
    con = duckdb.connect(str(serving))
    figures = ["coverage_pct", "active_ratio", "roi_multiple", "growth_stage_fit_score"]
    con.execute(
        "update marts.mart_strategy_scorecard set "
        + ", ".join(f"{c} = null" for c in figures)
        + ", vendor_name = null"
    )
    con.execute("update marts.mart_ecosystem_productivity set partner_revenue_usd = null")
    con.close()
    html = build_report(serving, tmp_path / "out").read_text(encoding="utf-8")
    assert html.count('<div class="kpi kpi-na"') == len(figures)
    assert "<title>Partner strategy report · n/a</title>" in html
    assert set(specs_of(html)) == CHARTS  # charts still draw, with "n/a" labels


def test_history_shows_the_last_date_of_each_month_of_the_last_12_months(refreshed, tmp_path):
    """Of 2024-01-31, 2024-02-29, 2025-01-15, 2025-01-31 and 2025-02-10, the history section
    shows 2025-01-31 (January's last date) and 2025-02-10 (the latest): the 12 calendar months
    to 2025-02-10 start in March 2024."""
    from orchestration.report import data as report_data

    serving = _copy_serving(refreshed[1] / "serving.duckdb", tmp_path / "history.duckdb", "")
    con = duckdb.connect(str(serving))
    con.execute("delete from marts.mart_partner_type_history")
    con.execute("delete from marts.mart_strategy_history")
    for day, enrolled in [
        ("2024-01-31", 1),
        ("2024-02-29", 9),
        ("2025-01-15", 2),
        ("2025-01-31", 3),
        ("2025-02-10", 4),
    ]:
        con.execute(
            "insert into marts.mart_partner_type_history (as_of_date, partner_type, "
            "enrolled_partners) values (?, 'reseller', ?)",
            [day, enrolled],
        )
        con.execute(
            "insert into marts.mart_strategy_history (as_of_date, enrolled_partners) values (?, ?)",
            [day, enrolled],
        )
    con.close()
    loaded = report_data.load(serving)
    expected = [("2025-01-31", "2025-01-01", 3), ("2025-02-10", "2025-02-01", 4)]
    for name in ("history", "strategy_history"):
        rows = loaded[name]
        got = [(str(r["as_of_date"]), str(r["month"]), r["enrolled_partners"]) for r in rows]
        assert got == expected, name
    html = build_report(serving, tmp_path / "out").read_text(encoding="utf-8")
    assert "(2 dates, 2025-01-31 to 2025-02-10)" in html


@pytest.mark.parametrize(
    ("formatter", "value", "expected"),
    [
        (fmt.pct, None, "n/a"),
        (fmt.pct, float("nan"), "n/a"),
        (fmt.pct, 0.5, "50.0%"),
        (fmt.pct, 0.99996, "99.996%"),  # never rounds a partial figure to 100%
        (fmt.pct, 1.0, "100.0%"),
        (fmt.usd, 1_048_662_010.1, "$1.05B"),
        (fmt.usd, 950, "$950"),
        (fmt.multiple, 2.929, "2.93×"),
        (fmt.pct_points, -0.25, "-25.0 pp"),
        (fmt.integer, 158173, "158,173"),
    ],
)
def test_number_formats(formatter, value, expected):
    assert formatter(value) == expected


class ChartDom(HTMLParser):
    """What the browser drew into each chart container: <svg>s and data-mark items."""

    def __init__(self, ids: set[str]):
        super().__init__()
        self.ids = ids
        self.stack: list[tuple[str, str | None, str | None]] = []
        self.charts: dict[str, dict] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        chart, parent_mark = (self.stack[-1][1], self.stack[-1][2]) if self.stack else (None, None)
        if a.get("id") in self.ids:
            chart = a["id"]
            self.charts[chart] = {"attrs": a, "svg": 0, "items": Counter(), "text": []}
        if chart:
            self.charts[chart]["svg"] += tag == "svg"
            if parent_mark:
                self.charts[chart]["items"][parent_mark] += 1
        classes = a.get("class", "").split()
        mark = classes[0].removeprefix("mark-") if tag == "g" and "role-mark" in classes else None
        if tag not in VOID:
            self.stack.append((tag, chart, mark))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][1]:
            self.charts[self.stack[-1][1]]["text"].append(data)


@pytest.fixture(scope="session")
def browser() -> str:
    """The Chromium executable (PSW_CHROMIUM, else `chromium` on PATH). Session-scoped, so a
    missing browser skips before the module's refresh runs."""
    path = os.environ.get("PSW_CHROMIUM") or shutil.which("chromium")
    path = path or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("PSW_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail("PSW_REQUIRE_BROWSER is set but chromium is not installed")
    pytest.skip("chromium is not installed (apt-get install chromium); CI sets PSW_REQUIRE_BROWSER")


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    """The DOM of `page` after its scripts ran, from headless Chromium with no network use."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        # no name resolves: a chart that needed a CDN would fail to draw even on a networked CI
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "</html>" in done.stdout, done.stderr[-2000:]
    return done.stdout


def test_browser_draws_every_chart(browser, report, tmp_path):
    dom = ChartDom(CHARTS)
    dom.feed(dump_dom(browser, report, tmp_path / "profile"))
    assert set(dom.charts) == CHARTS
    for chart_id, chart in dom.charts.items():
        text = " ".join(chart["text"])
        assert chart["attrs"].get("data-rendered") == "true", (chart_id, text)
        assert chart["svg"] >= 1, chart_id
        assert sum(chart["items"].values()) > 0, (chart_id, chart["items"])
        assert "error" not in text.lower(), (chart_id, text)
    items = {chart_id: chart["items"] for chart_id, chart in dom.charts.items()}
    # the fixture's 6 region × segment pairs; 1 uncovered targeted cell; 8 partner types
    heatmap = dom.charts["chart-coverage-heatmap"]
    assert items["chart-coverage-heatmap"]["text"] == 6  # one label per tile
    assert "n/a" in heatmap["text"]  # US enterprise: its only cell is direct, none targeted
    assert "0.0%" in heatmap["text"]  # APAC smb: JP smb retail has no covering partner
    assert "100.0%" in heatmap["text"]  # NA smb: 150 of 150 targeted accounts covered
    assert items["chart-uncovered-cells"]["rect"] == 1
    assert items["chart-playbook-fit"]["rect"] == 8
    assert items["chart-partner-mix"]["rect"] == 16  # actual and target for 8 types
    assert items["chart-investment-category"]["rect"] == 8  # 4 categories
    assert items["chart-trend-active_partners"]["line"] == 8  # one line per type
    assert items["chart-segment-gaps"]["rect"] == 3


def test_definitions_render_their_markdown_as_html():
    from orchestration.report.html import rich

    assert rich("**portfolio_drift** (see `mart_x`): a < b") == (
        "<b>portfolio_drift</b> (see <code>mart_x</code>): a &lt; b"
    )
    assert rich("2 * 3 ** 2") == "2 * 3 ** 2"  # lone stars stay text


def test_alert_definitions_show_no_markdown_markers(report):
    html = report.read_text(encoding="utf-8")
    assert "<b>portfolio_drift</b>" in html
    assert "**" not in html.split("<script", 1)[0]
