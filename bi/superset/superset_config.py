"""Superset's configuration for the warehouse dashboard (SUPERSET_CONFIG_PATH points here).

Everything that differs between machines comes from the environment, which
bi/superset/setup.sh fills in:

- PSW_SUPERSET_HOME: Superset's state (SQLite metadata database, generated secrets);
  bi/.superset by default, git-ignored.
- SUPERSET_SECRET_KEY: signs sessions and encrypts the connection settings stored in the
  metadata database. setup.sh generates one into $PSW_SUPERSET_HOME/secrets.env on first use;
  keep it stable, or Superset cannot decrypt what it stored.
"""

import os
from pathlib import Path

HOME = Path(os.environ.get("PSW_SUPERSET_HOME", Path(__file__).resolve().parents[1] / ".superset"))

SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if not SECRET_KEY:
    raise RuntimeError(
        "SUPERSET_SECRET_KEY is not set: start Superset with bi/superset/setup.sh (or `make bi`), "
        "which reads it from the environment or generates one into "
        f"{HOME / 'secrets.env'}"
    )

# Metadata (users, charts, dashboards) in SQLite: one local user, no server to run.
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}?check_same_thread=false"

# No result cache: the serving file is local and small, DuckDB answers in milliseconds, and a
# publish must show at the next query rather than after a cache timeout.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}

# Local use on 127.0.0.1 over plain HTTP: no HTTPS-only cookies, no rate limit storage server.
TALISMAN_ENABLED = False
SESSION_COOKIE_SECURE = False
RATELIMIT_ENABLED = False

FEATURE_FLAGS = {
    "DASHBOARD_RBAC": False,
    "ENABLE_TEMPLATE_PROCESSING": False,
}
# Served on 127.0.0.1 only (setup.sh): no Content-Security-Policy warning at each start.
CONTENT_SECURITY_POLICY_WARNING = False
