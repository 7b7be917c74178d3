#!/usr/bin/env bash
# Custom runtimes: a swift-lambda function (swift-aws-lambda-runtime API, Lambda Runtime API) vs. the
# same logic as an http-mode Swift server, and AWS's Python runtime client (awslambdaric) vs. the
# python3-http template; warm requests/s and latency with wrk (same server, same run), then cold
# starts. Needs a release build, wrk and `make setup-test-deps`. Called by bench/run.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STRATUS_BIN:-.build/release/stratus}
DURATION=${DURATION:-10s}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

(cd "$WORK" && "$OLDPWD/$BIN" new lam --lang swift-lambda >/dev/null && "$OLDPWD/$BIN" new pyhttp --lang python3-http >/dev/null \
  && "$OLDPWD/$BIN" build -f stack.yml >/dev/null)
mkdir -p "$WORK/swifthttp" "$WORK/pylambda"
/opt/swift/usr/bin/swiftc -O -static-stdlib bench/LambdaBench/http_server.swift -o "$WORK/swifthttp/server" 2>/dev/null
tar -czf "$WORK/swifthttp.tar.gz" -C "$WORK/swifthttp" .
cp -r .cache/lambda-ric/python "$WORK/pylambda/python"
cat > "$WORK/pylambda/app.py" <<'PY'
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": "Hello! You said: " + (event.get("body") or "")}
PY
printf '#!/bin/sh\nexport PYTHONPATH=$LAMBDA_TASK_ROOT/python\nexec python3 -m awslambdaric app.handler\n' > "$WORK/pylambda/bootstrap"
chmod +x "$WORK/pylambda/bootstrap"
tar -czf "$WORK/pylambda.tar.gz" -C "$WORK/pylambda" .

"$BIN" serve --port 0 --no-auth --data-dir "$WORK/data" --log-level warning > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
"$BIN" deploy --gateway "$URL" --name lambda-swift --artifact "$WORK/build/lam/bundle.tar.gz" \
  --annotation com.stratus.mode=bootstrap --annotation com.stratus.event-format=apigateway-aws >/dev/null
"$BIN" deploy --gateway "$URL" --name http-swift --artifact "$WORK/swifthttp.tar.gz" --fprocess ./server --env mode=http >/dev/null
"$BIN" deploy --gateway "$URL" --name lambda-python --artifact "$WORK/pylambda.tar.gz" \
  --annotation com.stratus.mode=bootstrap --annotation com.stratus.event-format=apigateway-aws >/dev/null
"$BIN" deploy --gateway "$URL" --name http-python --artifact "$WORK/build/pyhttp/bundle.tar.gz" --fprocess "python3 index.py" --env mode=http >/dev/null
for f in lambda-swift http-swift lambda-python http-python; do
  answer=$(curl -s "$URL/function/$f" -d Hi)
  [ "$answer" = "Hello! You said: Hi" ] || { echo "$f answered: $answer"; exit 1; }
done

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "Hi"
LUA
run_wrk() { # label connections url
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$DURATION" --latency -s "$WORK/post.lua" "$3" > "$WORK/wrk.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errors=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" | tr '\n' ' ' || true)
  printf '%-26s c=%-3s %10s req/s   p50 %8s   p99 %8s   %s\n' "$1" "$2" "$rps" "$p50" "$p99" "$errors"
  echo "$rps" > "$WORK/$1-$2.rps"
}
ratio() { awk -v a="$(cat "$WORK/$1.rps")" -v b="$(cat "$WORK/$2.rps")" -v l="$3" 'BEGIN { printf "ratio %-52s %.2f\n", l, a / b }'; }

echo "# Custom runtimes $(date -u +%FT%TZ) on $(nproc) cores, wrk -d$DURATION, body \"Hi\""
for c in 1 16; do
  run_wrk lambda-swift "$c" "$URL/function/lambda-swift"
  run_wrk http-swift "$c" "$URL/function/http-swift"
  run_wrk lambda-python "$c" "$URL/function/lambda-python"
  run_wrk http-python "$c" "$URL/function/http-python"
done
for c in 1 16; do
  ratio "lambda-swift-$c" "http-swift-$c" "swift-lambda (Runtime API) / Swift http mode, c=$c"
  ratio "lambda-python-$c" "http-python-$c" "awslambdaric (Runtime API) / python3-http, c=$c"
done
curl -s "$URL/system/functions" | python3 -c 'import json,sys; print("replicas after c=16:", {f["name"]: f["replicas"] for f in json.load(sys.stdin)})'
echo
echo "## Cold start: deploy (waits until ready) -> first answer, new function each time"
python3 bench/lambda.py "$URL" "lambda-swift=$WORK/build/lam/bundle.tar.gz:bootstrap:apigateway-aws" \
  "http-swift=$WORK/swifthttp.tar.gz:http::./server" "lambda-python=$WORK/pylambda.tar.gz:bootstrap:apigateway-aws" \
  "http-python=$WORK/build/pyhttp/bundle.tar.gz:http::python3 index.py"
