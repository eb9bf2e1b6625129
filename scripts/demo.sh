#!/usr/bin/env bash
# Runs the demo: the loopback test PBX (Kamailio + baresip agents) and the
# gateway with its embedded demo config. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${FRONTDESK_DEMO_DIR:-${TMPDIR:-/tmp}/frontdesk-testbed}
mkdir -p "$dir"

./bin/frontdesk-testbed --dir "$dir" up &
testbed_pid=$!
gateway_pid=""
cleanup() {
  [ -n "$gateway_pid" ] && kill -TERM "$gateway_pid" 2>/dev/null || true
  kill -TERM "$testbed_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Wait (bounded) until the test bed has written its state file.
for _ in $(seq 1 100); do
  if [ -s "$dir/state.json" ] && kill -0 "$testbed_pid" 2>/dev/null; then break; fi
  if ! kill -0 "$testbed_pid" 2>/dev/null; then echo "demo: the test PBX failed to start" >&2; exit 1; fi
  sleep 0.2
done

cat <<'MSG'

  Frontdesk demo
  --------------
  Sidebar widget:        http://127.0.0.1:8080/preview/5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f
  Business-cards widget: http://127.0.0.1:8080/preview/0f1e2d3c4b5a49788796a5b4c3d2e1f0
  Health (admin):        http://127.0.0.1:9480/healthz   (also /readyz, /livez, /metrics)

  Change an agent's presence and watch the widget follow (in another terminal):
    ./bin/frontdesk-testbed presence alice busy      (online|busy|away|offline)
    ./bin/frontdesk-testbed boolean daytime false

MSG

./bin/frontdesk serve "$@" &
gateway_pid=$!
wait "$gateway_pid"
