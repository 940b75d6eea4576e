#!/usr/bin/env bash
# RFC 6455 conformance: runs the Autobahn TestSuite (cases 1-10) against wm-websocket's
# echo server (fuzzingclient) and its echo client (fuzzingserver), on 127.0.0.1 only.
# Prints each suite's table, then one line: "N passed, M failed". Exits non-zero if a
# case failed. Reports (HTML) go to target/autobahn/{server,client}/index.html.
#
# The runner lives beside this repository (../shared/conformance/autobahn); set
# WM_AUTOBAHN_RUNNER to use another copy. Its setup.sh installs Python 2 and wstest
# (needs root and apt on a fresh machine; ~1 min, ~2 s once done).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNNER="${WM_AUTOBAHN_RUNNER:-$(pwd)/../shared/conformance/autobahn}"
if [[ ! -x "$RUNNER/setup.sh" ]]; then
    echo "autobahn.sh: no Autobahn runner at $RUNNER (set WM_AUTOBAHN_RUNNER)" >&2
    exit 2
fi
"$RUNNER/setup.sh"
cargo build --release -p wm-websocket --example echo_server --example autobahn_client

OUT=target/autobahn
mkdir -p "$OUT"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/examples/echo_server "127.0.0.1:$PORT" 2>"$OUT/echo_server.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT

rc=0
"$RUNNER/run-server-suite.sh" -a wm-websocket-server -o "$OUT/server" "ws://127.0.0.1:$PORT" \
    | tee "$OUT/server.txt" || rc=1
kill "$SERVER" 2>/dev/null || true
"$RUNNER/run-client-suite.sh" -a wm-websocket-client -o "$OUT/client" -- \
    ./target/release/examples/autobahn_client | tee "$OUT/client.txt" || rc=1

# Each suite ends with "N passed, M failed[, K skipped]"; add them up.
total() {
    grep -hoE '^[0-9]+ passed, [0-9]+ failed' "$OUT/server.txt" "$OUT/client.txt" |
        awk -v want="$1" '{ p += $1; f += $3 } END { print (want == "p" ? p : f) }'
}
passed=$(total p)
failed=$(total f)
echo
echo "Autobahn (server + client, cases 1-10): $passed passed, $failed failed"
if [[ "$passed" -eq 0 ]]; then
    rc=1
fi
exit "$rc"
