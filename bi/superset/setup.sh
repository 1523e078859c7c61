#!/usr/bin/env bash
# Apache Superset with the warehouse dashboard (bi/superset/dashboard/), for `make bi` and
# tests/test_superset.py.
#
#   bi/superset/setup.sh install   create bi/.venv from bi/requirements.txt + bi/constraints.txt
#   bi/superset/setup.sh init      metadata database, admin user, import the dashboard, point it
#                                  at the serving file (idempotent; run again after a move)
#   bi/superset/setup.sh serve     serve on PSW_SUPERSET_HOST:PSW_SUPERSET_PORT (gunicorn)
#   bi/superset/setup.sh all       the three above
#   bi/superset/setup.sh reset     forget the imported dashboard (deletes the metadata database)
#   bi/superset/setup.sh freeze    rewrite bi/constraints.txt from bi/.venv
#
# Environment (all optional):
#   PSW_SERVING_DB               the serving file (default $PSW_WAREHOUSE_DIR/serving.duckdb,
#                                PSW_WAREHOUSE_DIR defaulting to data/warehouse, as the warehouse)
#   PSW_SUPERSET_HOME            Superset's state (default bi/.superset, git-ignored)
#   PSW_SUPERSET_HOST / _PORT    default 127.0.0.1 / 8088
#   PSW_SUPERSET_WORKERS         gunicorn workers (default 2)
#   SUPERSET_SECRET_KEY          else generated once into $PSW_SUPERSET_HOME/secrets.env
#   PSW_SUPERSET_ADMIN_PASSWORD  user `admin`; else generated once into the same file
set -euo pipefail

BI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$BI_DIR")
VENV=$BI_DIR/.venv
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

export PSW_SUPERSET_HOME=${PSW_SUPERSET_HOME:-$BI_DIR/.superset}
export SUPERSET_CONFIG_PATH=$BI_DIR/superset/superset_config.py
export FLASK_APP=superset
HOST=${PSW_SUPERSET_HOST:-127.0.0.1}
PORT=${PSW_SUPERSET_PORT:-8088}
DATABASE_NAME="Partner Strategy Warehouse"  # databases/*.yaml in the export
SECRETS=$PSW_SUPERSET_HOME/secrets.env
LOG=$PSW_SUPERSET_HOME/setup.log

absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }
WAREHOUSE=$(absolute "${PSW_WAREHOUSE_DIR:-data/warehouse}")
SERVING_DB=$(absolute "${PSW_SERVING_DB:-$WAREHOUSE/serving.duckdb}")

# Run a command quietly into the log; on failure show the log's tail.
quiet() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "failed: $* (last lines of $LOG:)" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}

install() {
  if [ -z "$PYTHON" ]; then echo "Python 3.11 is required" >&2; exit 1; fi
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$BI_DIR/constraints.txt" -r "$BI_DIR/requirements.txt"
  touch "$VENV/.installed"
}

need_venv() {
  if [ ! -x "$VENV/bin/superset" ]; then
    echo "bi/.venv is missing: run \`make bi\` or bi/superset/setup.sh install" >&2
    exit 1
  fi
}

# SUPERSET_SECRET_KEY and PSW_SUPERSET_ADMIN_PASSWORD: the environment's; else the one in
# $SECRETS, generated there on first use (mode 600, git-ignored). Only generated values are
# written to the file.
load_secrets() {
  mkdir -p "$PSW_SUPERSET_HOME"
  PASSWORD_FROM_ENV=${PSW_SUPERSET_ADMIN_PASSWORD:+1}
  local name value
  for name in SUPERSET_SECRET_KEY PSW_SUPERSET_ADMIN_PASSWORD; do
    if [ -n "${!name:-}" ]; then
      export "${name?}"
      continue
    fi
    value=""
    [ ! -f "$SECRETS" ] || value=$(sed -n "s/^$name=//p" "$SECRETS" | tail -n 1)
    if [ -z "$value" ]; then
      value=$("$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(32))")
      (umask 077 && printf '%s=%s\n' "$name" "$value" >>"$SECRETS")
      echo "generated $name into $SECRETS"
    fi
    printf -v "$name" '%s' "$value"
    export "${name?}"
  done
}

init() {
  need_venv
  load_secrets
  local superset=$VENV/bin/superset
  : >"$LOG"
  quiet "$superset" db upgrade
  if [ ! -f "$PSW_SUPERSET_HOME/.initialized" ]; then
    quiet "$superset" fab create-admin --username admin --firstname Admin --lastname User \
      --email admin@localhost --password "$PSW_SUPERSET_ADMIN_PASSWORD"
    quiet "$superset" init
    touch "$PSW_SUPERSET_HOME/.initialized"
  elif [ -n "$PASSWORD_FROM_ENV" ]; then  # the environment's password wins
    quiet "$superset" fab reset-password --username admin --password "$PSW_SUPERSET_ADMIN_PASSWORD"
  fi
  local bundle=$PSW_SUPERSET_HOME/dashboard.zip uri_file=$PSW_SUPERSET_HOME/serving_uri uri
  quiet "$VENV/bin/python" "$BI_DIR/superset/bundle.py" "$SERVING_DB" "$bundle"
  quiet "$superset" import-dashboards -p "$bundle" -u admin
  uri="duckdb:///$SERVING_DB?access_mode=read_only"
  # An import keeps an existing database as it is: a changed serving path is set here.
  if [ "$(cat "$uri_file" 2>/dev/null)" != "$uri" ]; then
    quiet "$superset" set-database-uri -d "$DATABASE_NAME" -u "$uri"
    printf '%s\n' "$uri" >"$uri_file"
  fi
  [ -e "$SERVING_DB" ] || echo "warning: no serving file at $SERVING_DB yet (\`make run\` builds it)" >&2
  echo "Superset state in $PSW_SUPERSET_HOME; dashboard reads $SERVING_DB (read-only)"
}

serve() {
  need_venv
  load_secrets
  echo "Superset on http://$HOST:$PORT/superset/dashboard/partner-strategy/ (user admin;" \
    "password: \$PSW_SUPERSET_ADMIN_PASSWORD or $SECRETS)"
  # exec: make's SIGTERM and the terminal's Ctrl-C reach gunicorn, which stops its workers.
  exec "$VENV/bin/gunicorn" --workers "${PSW_SUPERSET_WORKERS:-2}" --worker-class gthread \
    --threads 4 --timeout 120 --bind "$HOST:$PORT" --access-logfile - \
    "superset.app:create_app()"
}

case "${1:-}" in
  install) install ;;
  init) init ;;
  serve) serve ;;
  all)
    [ -f "$VENV/.installed" ] || install
    init
    serve
    ;;
  reset) rm -f "$PSW_SUPERSET_HOME/superset.db" "$PSW_SUPERSET_HOME/.initialized" \
    "$PSW_SUPERSET_HOME/serving_uri" ;;
  freeze)
    need_venv
    {
      echo "# pip freeze of bi/.venv after \`pip install -r bi/requirements.txt\` (Python 3.11):"
      echo "# the whole Superset tree, pinned. Regenerate: bi/superset/setup.sh freeze."
      "$VENV/bin/python" -m pip freeze --exclude-editable
    } >"$BI_DIR/constraints.txt"
    ;;
  *)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
