"""The Superset dashboard of bi/superset/ on a real warehouse: bi/superset/setup.sh initialises
Superset (SQLite metadata in a tmp dir) and imports the dashboard, pointed at the serving file of
a real refresh on a generated landing zone. Every chart's data API (`/api/v1/chart/<id>/data/`,
the chart's saved query) must give the figures a DuckDB query of the same aggregate gives on the
serving file, before, during and after a second refresh; and headless Chromium, logged in, must
draw every chart.

Needs bi/.venv (`make bi` or bi/superset/setup.sh install; installed here when missing) and
Chromium. Skips without them, unless PSW_REQUIRE_SUPERSET is set (CI), where that fails.
"""

from __future__ import annotations

import base64
import fcntl
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests

from orchestration.generator import generate
from orchestration.settings import PROJECT_DIR
from tests.conftest import JobRunner, query_dicts

SETUP = PROJECT_DIR / "bi" / "superset" / "setup.sh"
VENV_SUPERSET = PROJECT_DIR / "bi" / ".venv" / "bin" / "superset"
DASHBOARD = "partner-strategy"
AS_OF = "2026-06-30"
LATER = "2026-05-31"  # the second refresh: other figures, so a stale answer shows

# Each chart's figures from the serving file: the same aggregate, columns named as the API names
# them. The monthly trend is compared unpivoted (see chart_rows).
EXPECTED = {
    "Coverage of targeted accounts": 'select max(coverage_pct) as "Coverage" '
    "from marts.mart_strategy_scorecard",
    "Active partners": 'select max(active_ratio) as "Active ratio" '
    "from marts.mart_strategy_scorecard",
    "Partner revenue (USD)": 'select max(partner_revenue_usd) as "Partner revenue" '
    "from marts.mart_strategy_scorecard",
    "ROI multiple": 'select max(roi_multiple) as "ROI" from marts.mart_strategy_scorecard',
    "Coverage by segment vs target": 'select segment_name, max(coverage_pct) as "Coverage", '
    'max(target_coverage_pct) as "Target" from marts.mart_coverage_by_segment group by 1',
    "Coverage by region and segment": "select segment_name, region_name, "
    "sum(case when is_covered then addressable_accounts else 0 end) * 1.0 "
    '/ nullif(sum(addressable_accounts), 0) as "Coverage" '
    "from marts.mart_coverage_cells where is_targeted group by 1, 2",
    "Partner mix vs target": 'select partner_type_name, max(actual_partner_share) as "Actual share '
    'of partners", max(target_partner_share) as "Target share" '
    "from marts.mart_execution_alignment group by 1",
    "Investment by partner type vs target": "select partner_type_name, "
    'max(actual_investment_share) as "Actual share of investment", '
    'max(target_investment_share) as "Target share" from marts.mart_execution_alignment group by 1',
    "Investment mix by category vs target": "select investment_category_name, "
    'max(actual_share) as "Actual share", max(target_share) as "Target share" '
    "from marts.mart_investment_allocation group by 1",
    "Partner revenue by partner type": "select partner_type_name, sum(partner_revenue_usd) as "
    '"Partner revenue", sum(partner_sourced_revenue_usd) as "Partner-sourced revenue" '
    "from marts.mart_ecosystem_productivity group by 1",
    "Productivity by partner type": "select partner_type_name, "
    'sum(enrolled_partners) as "Enrolled", sum(active_partners) as "Active", '
    'max(active_ratio) as "Active ratio", '
    'max(revenue_per_active_partner_usd) as "Revenue per active partner", '
    'max(roi_multiple) as "ROI" from marts.mart_ecosystem_productivity group by 1',
    "Monthly partner revenue by partner type": "select date_trunc('month', month) as month, "
    "partner_type_name as series, sum(partner_revenue_usd_in_month) as value "
    "from marts.mart_productivity_monthly group by 1, 2",
    "Triggered strategy alerts": "select severity_name, alert_code, partner_type_name, "
    "metric_value, threshold, explanation from marts.mart_strategy_alerts where is_triggered",
    "Rejected rows by entity and reason": 'select entity, reason, count(*) as "Rejected rows" '
    "from audit.rejected_rows group by 1, 2",
}
PIVOTED = {"Monthly partner revenue by partner type": "month"}


def require(reason: str) -> None:
    if os.environ.get("PSW_REQUIRE_SUPERSET", "") not in ("", "0"):
        pytest.fail(f"PSW_REQUIRE_SUPERSET is set but {reason}")
    pytest.skip(f"{reason}; CI sets PSW_REQUIRE_SUPERSET")


def chromium() -> str:
    path = os.environ.get("PSW_CHROMIUM") or shutil.which("chromium")
    path = path or shutil.which("chromium-browser")
    if not path:
        require("chromium is not installed (apt-get install chromium)")
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def normal(value: object) -> object:
    """A figure as both sides compare it: floats rounded, dates as ISO text."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def expected_rows(serving: Path, name: str) -> list[tuple]:
    rows = query_dicts(serving, EXPECTED[name])
    return sorted((tuple(normal(v) for v in row.values()) for row in rows), key=repr)


def chart_rows(name: str, result: dict, columns: list[str]) -> list[tuple]:
    """The API's rows as tuples of `columns`; a pivoted trend back to (x, series, value)."""
    if name in PIVOTED:
        x = PIVOTED[name]
        rows = [
            (datetime.fromtimestamp(row[x] / 1000, UTC).date().isoformat(), series, normal(value))
            for row in result["data"]
            for series, value in row.items()
            if series != x
        ]
    else:
        rows = [tuple(normal(row[c]) for c in columns) for row in result["data"]]
    return sorted(rows, key=repr)


class Superset:
    """Logged-in session (the form login a browser uses) on a running Superset."""

    def __init__(self, base: str, password: str):
        self.base = base
        self.http = requests.Session()
        page = self.http.get(f"{base}/login/", timeout=30).text
        token = re.search(r'id="csrf_token"\s+value="([^"]+)"', page)
        assert token, "no csrf_token on the login page"
        self.http.post(
            f"{base}/login/",
            data={"username": "admin", "password": password, "csrf_token": token.group(1)},
            timeout=30,
        )
        assert "session" in self.http.cookies, "login failed"

    def charts(self) -> dict[str, int]:
        response = self.http.get(f"{self.base}/api/v1/dashboard/{DASHBOARD}/charts", timeout=30)
        response.raise_for_status()
        return {c["slice_name"]: c["id"] for c in response.json()["result"]}

    def data(self, chart_id: int) -> dict:
        response = self.http.get(f"{self.base}/api/v1/chart/{chart_id}/data/", timeout=60)
        assert response.status_code == 200, (chart_id, response.status_code, response.text[:500])
        [result] = response.json()["result"]
        assert result["status"] == "success" and not result["error"], (chart_id, result["error"])
        return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, job_runner: JobRunner) -> Iterator[dict]:
    browser = chromium()
    if not VENV_SUPERSET.exists():
        done = subprocess.run(["bash", str(SETUP), "install"], capture_output=True, text=True)
        if done.returncode != 0 or not VENV_SUPERSET.exists():
            require(f"bi/.venv could not be installed: {done.stderr[-1000:]}")
    root = tmp_path_factory.mktemp("superset")
    landing, warehouse = root / "landing", root / "warehouse"
    generate(landing, scale=0.005, seed=7, end_date=date(2026, 6, 30))
    password = base64.urlsafe_b64encode(os.urandom(12)).decode()
    env = {
        **os.environ,
        "PSW_SUPERSET_HOME": str(root / "superset"),
        "PSW_SERVING_DB": str(warehouse / "serving.duckdb"),
        "PSW_SUPERSET_ADMIN_PASSWORD": password,
        "SUPERSET_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "PSW_SUPERSET_PORT": str(free_port()),
    }
    # Superset's initialisation and the first refresh at once: both are mostly one core each.
    init = subprocess.Popen(
        ["bash", str(SETUP), "init"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    outcome = job_runner.run(landing, warehouse, as_of=AS_OF)
    out = init.communicate(timeout=300)[0].decode()
    assert outcome.success, outcome.summary()
    assert init.returncode == 0, out
    server = subprocess.Popen(
        ["bash", str(SETUP), "serve"],
        env=env,
        stdout=(root / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PSW_SUPERSET_PORT']}"
    try:
        # gunicorn accepts connections before its workers answer: a slow answer while they
        # boot (a read timeout) is "not up yet", as a refused connection is
        deadline = time.monotonic() + 240
        while True:
            try:
                if requests.get(f"{base}/health", timeout=10).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert server.poll() is None, (root / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Superset did not start in 240 s"
            time.sleep(0.5)
        yield {
            "superset": Superset(base, password),
            "serving": warehouse / "serving.duckdb",
            "landing": landing,
            "warehouse": warehouse,
            "browser": browser,
            "root": root,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # gunicorn and its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def check_figures(superset: Superset, charts: dict[str, int], serving: Path) -> None:
    for name, chart_id in charts.items():
        expected = expected_rows(serving, name)
        columns = list(query_dicts(serving, EXPECTED[name] + " limit 1")[0])
        assert chart_rows(name, superset.data(chart_id), columns) == expected, name


def test_every_chart_gives_the_serving_files_figures(stack):
    superset = stack["superset"]
    charts = superset.charts()
    assert set(charts) == set(EXPECTED)
    check_figures(superset, charts, stack["serving"])
    # the database Superset reads is the serving file, read-only
    for name in charts:
        assert expected_rows(stack["serving"], name), f"{name}: no rows to compare"


def test_charts_answer_while_a_refresh_publishes(stack, job_runner):
    """Hammer every chart's data API while a refresh (another as-of date) runs and publishes:
    no error, and each answer is the whole old publish's figures or the whole new one's."""
    superset, serving = stack["superset"], stack["serving"]
    charts = superset.charts()
    before = {name: expected_rows(serving, name) for name in charts}
    columns = {name: list(query_dicts(serving, EXPECTED[name] + " limit 1")[0]) for name in charts}
    answers: list[tuple[str, list[tuple]]] = []
    outcome: dict = {}

    def refresh() -> None:
        outcome["run"] = job_runner.run(stack["landing"], stack["warehouse"], as_of=LATER)

    worker = threading.Thread(target=refresh)
    worker.start()
    while worker.is_alive():
        for name, chart_id in charts.items():
            answers.append((name, chart_rows(name, superset.data(chart_id), columns[name])))
    worker.join()
    assert outcome["run"].success, outcome["run"].summary()
    after = {name: expected_rows(serving, name) for name in charts}
    assert before != after  # the second publish changed figures
    assert len(answers) >= len(charts)
    print(f"{len(answers)} chart data answers during the refresh, none failed")
    for name, rows in answers:
        assert rows in (before[name], after[name]), name
    check_figures(superset, charts, serving)  # and now every chart shows the new publish


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe):
    no driver, no websocket library."""

    def __init__(self, executable: str, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: the protocol's pipes on fds 3 (in) and 4 (out)
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            preexec_fn=wire,
            pass_fds=(3, 4),  # kept open: the child closes its other fds after wire()
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def send(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        self._next_id += 1
        message: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open_page(self, width: int, height: int) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, False
        )
        self.session = attached["sessionId"]
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
            self.process.wait(timeout=10)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


# Per chart holder on the dashboard: its name, whether it drew (svg, canvas or a table with
# rows), and whether it shows an error or is still loading.
CHART_STATE = """JSON.stringify([...document.querySelectorAll('.dashboard-component-chart-holder')]
  .map(h => ({
    title: (h.querySelector('.header-title, [data-test="editable-title"]') || {}).innerText
      || h.innerText.split('\\n')[0],
    drawn: !!h.querySelector('svg, canvas') || h.querySelectorAll('table tbody tr').length > 0,
    error: !!h.querySelector('[role="alert"], .alert-danger, [data-test="error-tooltip"]'),
    loading: !!h.querySelector('.loading'),
  })))"""


def test_dashboard_draws_every_chart_in_chromium(stack):
    superset = stack["superset"]
    browser = Chromium(stack["browser"], stack["root"] / "chromium")
    try:
        browser.open_page(1600, 1400)
        browser.send(
            "Network.setCookie",
            {"name": "session", "value": superset.http.cookies["session"], "url": superset.base},
        )
        browser.send("Page.navigate", {"url": f"{superset.base}/superset/dashboard/{DASHBOARD}/"})
        deadline = time.monotonic() + 90
        while True:
            state = json.loads(browser.evaluate(CHART_STATE) or "[]")
            done = len(state) == len(EXPECTED) and not any(c["loading"] for c in state)
            if (done and all(c["drawn"] for c in state)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(state) == len(EXPECTED), state
        for chart in state:
            assert chart["drawn"] and not chart["error"] and not chart["loading"], chart
        # the whole page, for docs/img/superset-dashboard.png
        browser.resize(1600, browser.evaluate("document.documentElement.scrollHeight"))
        time.sleep(3)  # charts redraw at the new size (and finish their animations)
        shot = browser.send("Page.captureScreenshot", {"format": "png"})
        path = stack["root"] / "superset-dashboard.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        assert path.stat().st_size > 50_000
        print(f"screenshot: {path}")
    finally:
        browser.close()
