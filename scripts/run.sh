#!/usr/bin/env bash
# Start the platform on this machine (after `make install`):
# migrate + seed the database, start the timer worker, serve the web app.
#   DATABASE_URL  default sqlite:///$PWD/instance/platform.db
#   PORT          default 5000 (served on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."

export FLASK_APP=web
export DATABASE_URL="${DATABASE_URL:-sqlite:///$PWD/instance/platform.db}"
PORT="${PORT:-5000}"
FLASK=.venv/bin/flask

if [ ! -x "$FLASK" ]; then
    echo "[run] $FLASK missing: run 'make install' first" >&2
    exit 1
fi

mkdir -p instance

echo "[run] database: $DATABASE_URL"
echo "[run] flask db upgrade"
"$FLASK" --app web db upgrade
echo "[run] flask seed-demo"
"$FLASK" --app web seed-demo

WORKER_PID=""
WEB_PID=""
cleanup() {
    for pid in $WEB_PID $WORKER_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $WEB_PID $WORKER_PID; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

echo "[run] starting scheduler worker (log: instance/worker.log)"
.venv/bin/python -m engine.worker --db "$DATABASE_URL" >>instance/worker.log 2>&1 &
WORKER_PID=$!

echo
echo "[run] Open http://127.0.0.1:$PORT/  (Ctrl-C stops the web server and the worker)"
echo
# The server runs as a child the script waits on, so a signal to the script runs the
# EXIT trap at once and both processes are stopped.
"$FLASK" --app web run --host 127.0.0.1 --port "$PORT" &
WEB_PID=$!
wait "$WEB_PID"
