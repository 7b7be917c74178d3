#!/usr/bin/env bash
# A longer schemathesis run than the one in the tests: EXAMPLES per operation (default 200), all
# phases, against a fresh `stratus serve` (debug build unless STRATUS_BIN is set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh >/dev/null
BIN=${STRATUS_BIN:-.build/debug/stratus}
DATA=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
"$BIN" serve --port 0 --data-dir "$DATA" --log-level warning > "$DATA/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$DATA/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$DATA/serve.log" | head -1)
PASSWORD=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['password'])" "$DATA/credentials")
PYTHONPATH=.cache/schemathesis python3 -m schemathesis.cli run docs/openapi.yaml --url "$URL" --auth "admin:$PASSWORD" \
  --max-examples "${EXAMPLES:-200}" --checks all --phases examples,coverage,fuzzing "$@"
