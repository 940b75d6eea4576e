#!/usr/bin/env bash
# Runs each crate's example server on 127.0.0.1 and talks to it with what users run: the
# `wm` tool's `connect` (wm-cli), curl for HTTP, and Python for the custom protocol and
# the two-client broadcast.
# Each exchange is checked; the script exits non-zero on the first that differs. Every
# server is killed on exit; every wait is bounded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build -q -p wm-cli \
    -p wm-protocol --example xml_length \
    -p wm-text --example echo \
    -p wm-frame --example frame_echo \
    -p wm-jsonnl --example jsonnl_echo \
    -p wm-websocket --example echo_server \
    -p wm-http --example hello \
    -p wm-server --example broadcast
WM=target/debug/wm
EXAMPLES=target/debug/examples
OUT=target/examples-run
mkdir -p "$OUT"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

# start NAME BINARY: starts it on a free port; sets ADDRESS from its "listening on" line.
start() {
    local name=$1 binary=$2
    "$binary" 127.0.0.1:0 >"$OUT/$name.log" 2>&1 &
    PIDS+=($!)
    ADDRESS=
    for _ in $(seq 100); do
        ADDRESS=$(sed -n 's/.*listening on \(ws:\/\/\)\{0,1\}//p' "$OUT/$name.log" | head -1)
        [[ -n "$ADDRESS" ]] && return 0
        sleep 0.1
    done
    echo "examples.sh: $name did not start:" >&2
    cat "$OUT/$name.log" >&2
    exit 1
}

# expect NAME WANT GOT
expect() {
    if [[ "$3" != "$2" ]]; then
        printf 'examples.sh: %s: expected %q, got %q\n' "$1" "$2" "$3" >&2
        exit 1
    fi
    echo "ok: $1"
}

start text "$EXAMPLES/echo"
expect "wm-text echo" $'hello\nworld' "$(printf 'hello\nworld\n' | "$WM" connect "text://$ADDRESS")"

start frame "$EXAMPLES/frame_echo"
expect "wm-frame echo" $'hello\nwith\\ttab' "$(printf 'hello\nwith\ttab\n' | "$WM" connect "frame://$ADDRESS")"

start jsonnl "$EXAMPLES/jsonnl_echo"
got=$(printf '{"b":1,"a":[true,null]}\n' | "$WM" connect "jsonnl://$ADDRESS")
expect "wm-jsonnl echo (key order kept)" '{"b":1,"a":[true,null]}' "$got"

start websocket "$EXAMPLES/echo_server"
expect "wm-websocket echo_server" $'hi\nthere' "$(printf 'hi\nthere\n' | "$WM" connect "ws://$ADDRESS/")"

start http "$EXAMPLES/hello"
expect "wm-http hello" 'hello ada' "$(curl -sS --max-time 5 "http://$ADDRESS/greet?name=ada")"
expect "wm-http hello refuses a request without Host" '400' \
    "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host:' "http://$ADDRESS/")"

start broadcast "$EXAMPLES/broadcast"
# Two clients, each greeted; what one says reaches both. (Python rather than `wm connect`,
# whose count of replies cannot tell a greeting that arrives late from a reply.)
got=$(python3 - "$ADDRESS" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
a = socket.create_connection((host, int(port)), timeout=5).makefile("rwb")
b = socket.create_connection((host, int(port)), timeout=5).makefile("rwb")
welcome_a, welcome_b = a.readline().decode(), b.readline().decode()
assert welcome_a.startswith("welcome, you are #"), welcome_a
assert welcome_b.startswith("welcome, you are #"), welcome_b
me = welcome_a.strip().rsplit("#", 1)[1]
a.write(b"hi\n")
a.flush()
print(a.readline().decode().strip() == b.readline().decode().strip() == f"#{me}: hi")
PY
)
expect "wm-server broadcast" 'True' "$got"

start xml_length "$EXAMPLES/xml_length"
got=$(python3 - "$ADDRESS" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
with socket.create_connection((host, int(port)), timeout=5) as s:
    # One document split in two writes, then a second one.
    s.sendall(b"0000000019<a>")
    s.sendall(b"hi</a>0000000010")
    want = 19 + 10
    got = b""
    while len(got) < want:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    print(got.decode())
PY
)
expect "wm-protocol xml_length" '0000000019<a>hi</a>0000000010' "$got"

echo "examples: 8 passed, 0 failed"
