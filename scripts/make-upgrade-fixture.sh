#!/usr/bin/env bash
# Writes a store with an older Stratus binary, as a test fixture of text files (no binaries):
# Tests/Fixtures/upgrade/NAME/{stratus.sql, secret.key.b64, credentials, manifest.json}.
# UpgradeTests opens it with the current build: nothing may be lost.
#
# Usage: scripts/make-upgrade-fixture.sh OLD_STRATUS_BINARY NAME
#   e.g. git worktree add /tmp/prev <commit>; (cd /tmp/prev && swift build --scratch-path /tmp/prev-build)
#        scripts/make-upgrade-fixture.sh /tmp/prev-build/debug/stratus v0.1-a6f94d6
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1
OUT=Tests/Fixtures/upgrade/$2
DATA=$(mktemp -d)
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA" "$WORK"' EXIT
"$OLD" serve --port 0 --data-dir "$DATA" --log-level warning --queue-workers 1 > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
export STRATUS_HOME=$DATA
PASSWORD=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['password'])" "$DATA/credentials")
echo "$PASSWORD" | "$OLD" login --gateway "$URL" --username admin --password-stdin >/dev/null
"$OLD" secret create db-password --from-literal hunter2 --gateway "$URL" >/dev/null
cat > "$WORK/stack.yml" <<YAML
version: 1.0
provider:
  name: openfaas
functions:
  upper:
    fprocess: tr a-z A-Z
    environment:
      GREETING: hi
    labels:
      team: a
    annotations:
      com.stratus.timeout: 5s
  reader:
    fprocess: cat /var/openfaas/secrets/db-password
    secrets: [db-password]
  failing:
    fprocess: "false"
    annotations:
      com.openfaas.retry.attempts: "1"
YAML
(cd "$WORK" && "$OLD" deploy -f stack.yml --gateway "$URL" >/dev/null)
curl -s "$URL/function/upper" -d "before the upgrade" >/dev/null
CALL=$(curl -s -D - -o /dev/null -X POST "$URL/async-function/failing" -d "kept" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-call-id" {print $2}')
for _ in $(seq 100); do "$OLD" queue list --state failed --gateway "$URL" | grep -q "$CALL" && break; sleep 0.1; done
kill -TERM $SERVER; wait $SERVER || true
mkdir -p "$OUT"
sqlite3 "$DATA/stratus.db" .dump > "$OUT/stratus.sql"
base64 -w0 "$DATA/secret.key" > "$OUT/secret.key.b64"
cp "$DATA/credentials" "$OUT/credentials"
python3 -c "import json,sys; json.dump({'binary': sys.argv[1], 'failedCall': sys.argv[2], 'password': sys.argv[3]}, open(sys.argv[4], 'w'), indent=2)" \
  "$("$OLD" version 2>/dev/null | head -1)" "$CALL" "$PASSWORD" "$OUT/manifest.json"
echo "Wrote $OUT ($(wc -l < "$OUT/stratus.sql") lines of SQL; failed call $CALL)"
