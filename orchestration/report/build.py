"""Build the static HTML strategy report from the serving database.

The page is one self-contained file: the Vega-Lite specs (made with altair) and the Vega,
Vega-Lite and vega-embed JavaScript (bundled by vl-convert-python) are inlined, so it opens
offline, from a file share or as a Dagster metadata link, without any CDN.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path

import altair as alt
import vl_convert

from orchestration.report import data as report_data
from orchestration.report import sections, sections_diagnostics, sections_partners
from orchestration.report.definitions import Definitions, load_definitions
from orchestration.report.html import Page, document

INDEX = "index.html"


def vegalite_version() -> str:
    """The Vega-Lite minor version altair writes specs for, e.g. "6.4"."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"{major}.{minor}"


@lru_cache(maxsize=1)
def javascript_bundle(cache_dir: Path | None = None) -> str:
    """Vega, Vega-Lite (the version altair targets) and vega-embed as one inline script.

    Bundling takes vl-convert ≈ 1.8 s and its result depends only on the two versions, so it
    is kept in `cache_dir` (the report folder) under a name that carries both: the next
    night's report reuses it, and an upgrade of either package makes a new one."""
    vl_version = vegalite_version()
    if cache_dir is None:
        return vl_convert.javascript_bundle(vl_version=vl_version)
    cached = cache_dir / f".vega-bundle-vl{vl_version}-vlc{_vl_convert_version()}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle(vl_version=vl_version)
    _write_whole(cached, bundle)  # a concurrent reader finds it whole or not at all
    return bundle


def _write_whole(target: Path, text: str) -> None:
    """Write `text` beside `target` and rename it over `target`: a reader sees the old file or
    the new one, never half of it. A leftover of a killed write is a hidden `*.tmp` file that
    the next `build_report` removes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.parent / f".{target.name.lstrip('.')}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def _vl_convert_version() -> str:
    from importlib.metadata import version

    return version("vl-convert-python")


def render(
    serving_db: Path, definitions: Definitions | None = None, cache_dir: Path | None = None
) -> str:
    """The report page for `serving_db`, as HTML text (`cache_dir`: see javascript_bundle)."""
    data = report_data.load(serving_db)
    d = definitions or load_definitions()
    page = Page()
    body = "".join(
        [
            sections.scorecard(data, d),
            sections.coverage(page, data, d),
            sections_partners.alignment(page, data, d),
            sections_partners.productivity(page, data, d),
            sections_partners.trends(page, data, d),
            sections_partners.history(page, data, d),
            sections.gaps(page, data, d),
            sections_diagnostics.diagnostics(page, data, d),
        ]
    )
    built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body += (
        f"<footer>Built {built} from <code>{escape(str(serving_db))}</code> (schema "
        "<code>marts</code>). Definitions are the dbt documentation of the marts "
        "(<code>dbt_project/models/marts/*.yml</code>). Charts: Vega-Lite "
        f"{escape(vegalite_version())}, embedded for offline use.</footer>"
    )
    vendor = data.scorecard.get("vendor_name") if data.scorecard else None
    title = f"Partner strategy report · {vendor or 'n/a'}"
    return document(title, sections.header(data), body, page.specs, javascript_bundle(cache_dir))


def build_report(serving_db: Path, out_dir: Path) -> Path:
    """Write the report for `serving_db` to `out_dir/index.html` and return that path.

    The file is written beside its final name and renamed over it, so a browser never shows a
    half-written report."""
    out_dir = Path(out_dir)
    html = render(Path(serving_db), cache_dir=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in out_dir.glob(".*.tmp"):  # of a build that was killed half-way
        leftover.unlink(missing_ok=True)
    target = out_dir / INDEX
    _write_whole(target, html)
    return target
