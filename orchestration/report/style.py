"""The report's stylesheet (kept in Python so it ships with the package without package data)."""

CSS = """
:root {
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f5f6f8; --card: #ffffff;
  --accent: #2f5fd0; --bad: #d95f02; --good: #1b9e77;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial,
    sans-serif;
}
header.top {
  background: #15213b; color: #fff; padding: 28px 40px 22px;
}
header.top .eyebrow {
  text-transform: uppercase; letter-spacing: .08em; font-size: 11px; color: #9fb3d9;
  margin: 0 0 4px;
}
header.top h1 { margin: 0 0 8px; font-size: 26px; font-weight: 650; }
header.top .meta { display: flex; flex-wrap: wrap; gap: 8px 22px; color: #c9d4ea; font-size: 13px; }
header.top .meta b { color: #fff; font-weight: 600; }
header.top nav { margin-top: 14px; display: flex; flex-wrap: wrap; gap: 6px; }
header.top nav a {
  color: #dbe5fb; text-decoration: none; font-size: 12px; padding: 3px 10px;
  border: 1px solid #34466e; border-radius: 999px;
}
header.top nav a:hover { background: #22345c; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; }
section { margin: 0 0 36px; }
h2 { font-size: 19px; margin: 0 0 4px; font-weight: 650; }
h3 { font-size: 14px; margin: 0 0 8px; font-weight: 600; }
p.intro { color: var(--muted); margin: 0 0 12px; max-width: 900px; }
.kpis {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px;
}
.kpi {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 16px; border-top: 3px solid var(--accent);
}
.kpi-label { color: var(--muted); font-size: 12px; }
.kpi-value { font-size: 26px; font-weight: 650; letter-spacing: -.01em; margin: 2px 0; }
.kpi-sub { color: var(--muted); font-size: 12px; }
.kpi-na { border-top-color: #c9ced8; }
.kpi-na .kpi-value { color: #9ca3af; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 18px; min-width: 0;
}
.card.wide { grid-column: 1 / -1; }
.card-note { color: var(--muted); font-size: 12px; margin: -4px 0 8px; }
.chart { width: 100%; min-height: 80px; }
.chart .vega-embed { width: 100%; }
.chart-empty {
  display: flex; flex-direction: column; align-items: center; justify-content: center;
  height: 140px; border: 1px dashed var(--line); border-radius: 8px; color: #9ca3af;
}
.chart-empty span { font-size: 22px; font-weight: 600; }
details.howto {
  background: #eef2fb; border: 1px solid #dbe3f5; border-radius: 8px; padding: 8px 14px;
  margin: 14px 0 0; font-size: 12.5px; color: #374151;
}
details.howto summary { cursor: pointer; font-weight: 600; color: #2b3f73; }
details.howto p { margin: 6px 0; }
details.howto dl {
  display: grid; grid-template-columns: minmax(140px, max-content) 1fr; gap: 4px 14px;
  margin: 8px 0 4px;
}
details.howto dt { font-weight: 600; }
details.howto dd { margin: 0; }
code {
  font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #e6ebf5;
  padding: 0 3px; border-radius: 3px;
}
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; }
th { color: var(--muted); font-weight: 600; background: #fafbfc; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td[data-na] { color: #9ca3af; }
tbody tr:hover { background: #f8fafc; }
.badge { padding: 1px 8px; border-radius: 999px; font-size: 11.5px; }
.empty-table { color: #9ca3af; }
.vega-error, .noscript { color: #b91c1c; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
  padding-top: 12px; }
#vg-tooltip-element { font-family: inherit; font-size: 12px; }
@media print {
  header.top nav, details.howto summary { display: none; }
  .card { break-inside: avoid; }
}
"""
