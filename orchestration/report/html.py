"""HTML building blocks of the report page. Every text is escaped; charts are empty <div>s that
the embedded vega-embed fills from the specs in a JSON script block."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from orchestration.report.fmt import NA
from orchestration.report.style import CSS

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def rich(text: str) -> str:
    """Escape `text` and show its Markdown `backticked` parts as code and **starred** parts as
    bold (the dbt docs are Markdown)."""
    return _BOLD.sub(r"<b>\1</b>", _CODE.sub(r"<code>\1</code>", escape(text)))


@dataclass
class Page:
    """Collects the page's chart specs while the sections are written."""

    specs: dict[str, Any] = field(default_factory=dict)

    def chart(
        self,
        chart_id: str,
        title: str,
        spec: dict[str, Any] | None,
        note: str = "",
        wide: bool = False,
    ) -> str:
        subtitle = f'<p class="card-note">{rich(note)}</p>' if note else ""
        if spec is None:
            body = (
                f'<div class="chart-empty" id="{escape(chart_id)}" data-empty="true">'
                f"<span>{NA}</span><small>No data in the mart for this chart.</small></div>"
            )
        else:
            self.specs[chart_id] = spec
            body = f'<div class="chart" id="{escape(chart_id)}" role="figure" '
            body += f'aria-label="{escape(title)}"></div>'
        cls = "card wide" if wide else "card"
        return f'<div class="{cls}"><h3>{escape(title)}</h3>{subtitle}{body}</div>'


def kpi(label: str, value: str, sub: str = "", definition: str = "") -> str:
    missing = " kpi-na" if value == NA else ""
    title = f' title="{escape(definition)}"' if definition else ""
    sub_html = f'<div class="kpi-sub">{escape(sub)}</div>' if sub else ""
    return (
        f'<div class="kpi{missing}"{title}><div class="kpi-label">{escape(label)}</div>'
        f'<div class="kpi-value">{escape(value)}</div>{sub_html}</div>'
    )


def how_to_read(items: list[tuple[str, str]], lead: str = "") -> str:
    """The section's "how to read this": the mart's own definitions, term by term."""
    rows = "".join(f"<dt>{escape(term)}</dt><dd>{rich(text)}</dd>" for term, text in items)
    lead_html = f"<p>{rich(lead)}</p>" if lead else ""
    return (
        '<details class="howto" open><summary>How to read this</summary>'
        f"{lead_html}<dl>{rows}</dl></details>"
    )


def section(section_id: str, title: str, intro: str, howto: str, *cards: str) -> str:
    grid = "".join(cards)
    return (
        f'<section id="{escape(section_id)}"><h2>{escape(title)}</h2>'
        f'<p class="intro">{rich(intro)}</p><div class="grid">{grid}</div>{howto}</section>'
    )


def table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    if not rows:
        return f'<p class="empty-table">{NA}: no rows.</p>'
    numeric = numeric or set()

    def cell(tag: str, index: int, text: str) -> str:
        cls = ' class="num"' if index in numeric else ""
        na = ' data-na="true"' if text == NA else ""
        return f"<{tag}{cls}{na}>{escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def table_card(title: str, table_html: str, wide: bool = True) -> str:
    cls = "card wide" if wide else "card"
    return f'<div class="{cls}"><h3>{escape(title)}</h3>{table_html}</div>'


def _json_script(data: Any) -> str:
    # "</" cannot end the <script> element inside a JSON string once written as "<\/"
    return json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False).replace(
        "</", "<\\/"
    )


RENDER_JS = """
(function () {
  var specs = JSON.parse(document.getElementById("report-specs").textContent);
  var opts = {renderer: "svg", actions: false, mode: "vega-lite", tooltip: {theme: "light"}};
  Object.keys(specs).forEach(function (id) {
    var el = document.getElementById(id);
    vegaEmbed(el, specs[id], opts).then(function () {
      el.setAttribute("data-rendered", "true");
    }).catch(function (err) {
      el.setAttribute("data-rendered", "error");
      el.innerHTML = '<p class="vega-error"></p>';
      el.firstChild.textContent = "Chart failed to render: " + err;
    });
  });
})();
"""


def document(title: str, header: str, body: str, specs: dict[str, Any], bundle: str) -> str:
    if "</script" in bundle.lower() or "<!--" in bundle:
        raise ValueError("the JavaScript bundle contains </script> or <!-- and cannot be inlined")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header class="top">{header}</header>
<main>{body}</main>
<noscript><p class="noscript">The charts need JavaScript; the figures and tables do not.</p>
</noscript>
<script id="report-specs" type="application/json">{_json_script(specs)}</script>
<script>{bundle}</script>
<script>{RENDER_JS}</script>
</body>
</html>
"""
