# Sourced (`source conformance/interop-peers.sh`) by .ci/run and the deflate benchmark:
# installs the second implementations the interop tests and benchmarks run against, and
# exports where they are.
#   * Python `websockets` 13.1 and `httptools` 0.6.4 in target/interop-venv
#     (WM_INTEROP_PYTHON);
#   * Node's `ws` 8.18.0 in target/interop-node (WM_INTEROP_NODE_PATH), with Debian's
#     nodejs and npm if node is missing.
# Idempotent: a second run checks and returns.

VENV=target/interop-venv
if ! "$VENV/bin/python" -c 'import websockets, httptools' 2>/dev/null; then
    echo "==> Python websockets and httptools ($VENV)"
    python3 -m venv "$VENV" || { apt-get install -y python3-venv && python3 -m venv "$VENV"; }
    "$VENV/bin/pip" install -q 'websockets==13.1' 'httptools==0.6.4'
fi
export WM_INTEROP_PYTHON="$PWD/$VENV/bin/python"

if ! command -v npm >/dev/null; then
    echo "==> apt: nodejs and npm"
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi
NODE_DIR=target/interop-node
if ! NODE_PATH="$NODE_DIR/node_modules" node -e 'require("ws")' 2>/dev/null; then
    echo "==> npm: ws 8.18.0 ($NODE_DIR)"
    npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" ws@8.18.0
fi
export WM_INTEROP_NODE_PATH="$PWD/$NODE_DIR/node_modules"
