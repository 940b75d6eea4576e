#!/usr/bin/env bash
# RFC 6455 and RFC 7692 conformance: runs the Autobahn TestSuite against what users run,
# on 127.0.0.1 only:
#   * `wm echo --deflate websocket://` (the tool, release build): fuzzingclient, server
#     role, cases 1-13 (12 and 13 are permessage-deflate);
#   * wm-websocket's echo server example (`accept` + `WebSocketStream`): cases 1-10;
#   * wm-websocket's echo client example with --deflate: fuzzingserver, client role,
#     cases 1-13.
# Strict: a FAILED case, a NON-STRICT one, an UNIMPLEMENTED one (a 12.* or 13.* case not
# negotiated) or an unclean closing handshake fails the run. Cases 12-13 take about 12
# minutes per suite on 2 cores; WM_AUTOBAHN_QUICK=1 runs cases 1-10 only.
# `wm echo` runs with --max-package-size 16777216 (16 MiB): cases 9.1.6 and 9.2.6 send
# 16 MiB messages, and the default is Workerman's maxPackageSize, 10 MiB, which answers
# them with 1009 as it should.
# Prints each suite's table, then one line: "N passed, M failed". Exits non-zero if a
# case failed. Reports (HTML) go to target/autobahn/{wm-echo,server,client}/index.html.
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
cargo build --release -p wm-cli

OUT=target/autobahn
mkdir -p "$OUT"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

# `wm echo` prints "URL listening on ADDRESS" once it listens.
./target/release/wm echo --deflate websocket://127.0.0.1:0 --max-package-size 16777216 \
    >"$OUT/wm-echo.out" 2>"$OUT/wm-echo.log" &
PIDS+=($!)
WM_ADDRESS=
for _ in $(seq 100); do
    WM_ADDRESS=$(sed -n 's/^websocket:.* listening on //p' "$OUT/wm-echo.out")
    [[ -n "$WM_ADDRESS" ]] && break
    sleep 0.1
done
if [[ -z "$WM_ADDRESS" ]]; then
    echo "autobahn.sh: wm echo did not start:" >&2
    cat "$OUT/wm-echo.log" >&2
    exit 1
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/examples/echo_server "127.0.0.1:$PORT" 2>"$OUT/echo_server.log" &
PIDS+=($!)

DEFLATE=(-z)
CASES="1-13"
if [[ -n "${WM_AUTOBAHN_QUICK:-}" ]]; then
    DEFLATE=()
    CASES="1-10"
fi
rc=0
"$RUNNER/run-server-suite.sh" -s "${DEFLATE[@]}" -a wm-echo -o "$OUT/wm-echo" "ws://$WM_ADDRESS" \
    | tee "$OUT/wm-echo.txt" || rc=1
"$RUNNER/run-server-suite.sh" -s -a wm-websocket-server -o "$OUT/server" "ws://127.0.0.1:$PORT" \
    | tee "$OUT/server.txt" || rc=1
"$RUNNER/run-client-suite.sh" -s "${DEFLATE[@]}" -a wm-websocket-client -o "$OUT/client" -- \
    ./target/release/examples/autobahn_client --deflate | tee "$OUT/client.txt" || rc=1
kill "${PIDS[@]}" 2>/dev/null || true

SUITES=("$OUT/wm-echo.txt" "$OUT/server.txt" "$OUT/client.txt")
# Each suite ends with "N passed, M failed[, K skipped]"; add them up.
total() {
    grep -hoE '^[0-9]+ passed, [0-9]+ failed' "${SUITES[@]}" |
        awk -v want="$1" '{ p += $1; f += $3 } END { print (want == "p" ? p : f) }'
}
passed=$(total p)
failed=$(total f)
# The runner counts NON-STRICT as passed and UNIMPLEMENTED as skipped; here both fail, as
# an unclean close does. The table's "all" row: group total OK NON-STRICT INFORMATIONAL
# UNIMPLEMENTED FAILED bad-close.
for suite in "${SUITES[@]}"; do
    read -r non_strict unimplemented bad_close < <(awk '$1 == "all" { print $4, $6, $8 }' "$suite")
    if [[ "${non_strict:-x}" != 0 || "${bad_close:-x}" != 0 ]]; then
        echo "autobahn.sh: $suite: ${non_strict:-?} NON-STRICT, ${bad_close:-?} unclean closes" >&2
        rc=1
    fi
    # The server example runs cases 1-10 only; the others must implement 12 and 13.
    if [[ "$suite" != "$OUT/server.txt" && "${unimplemented:-x}" != 0 ]]; then
        echo "autobahn.sh: $suite: ${unimplemented:-?} UNIMPLEMENTED" >&2
        rc=1
    fi
done
echo
echo "Autobahn (wm echo --deflate and the client example: cases $CASES; server example: 1-10; strict): $passed passed, $failed failed"
if [[ "$passed" -eq 0 ]]; then
    rc=1
fi
exit "$rc"
