#!/usr/bin/env bash
# Stratus benchmarks: warm Wasm invocation vs. /healthz on the same server (wrk), cold start from
# deploy to first answer, and per-call instance cost inside the runtime. Needs a release build
# (`make bench` does it) and wrk. Results: bench/results/<date>.txt
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STRATUS_BIN:-.build/release/stratus}
RUNTIME_BENCH=${RUNTIME_BENCH:-.build/release/stratus-runtime-bench}
INFERENCE_BENCH=${INFERENCE_BENCH:-.build/release/stratus-inference-bench}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
mkdir -p bench/results
OUT=bench/results/$(date +%Y%m%d-%H%M%S).txt
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Guest modules: the C echo fixture and the swift-wasm hello template.
RD=$(dirname "$(dirname "$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")")")
/opt/swift/usr/bin/clang --target=wasm32-wasi --sysroot=/usr -resource-dir "$RD" -O2 Tests/Fixtures/wasm/echo.c -o "$WORK/echo.wasm"
(cd "$WORK" && "$OLDPWD/$BIN" new hello --lang swift-wasm >/dev/null && "$OLDPWD/$BIN" new pycon --lang python3 >/dev/null \
  && "$OLDPWD/$BIN" new pyhttp --lang python3-http >/dev/null && "$OLDPWD/$BIN" new nodehttp --lang node >/dev/null \
  && "$OLDPWD/$BIN" build -f stack.yml >/dev/null)
cp "$WORK/build/hello/function.wasm" "$WORK/hello.wasm"

"$BIN" serve --port 0 --no-auth --data-dir "$WORK/data" --log-level warning > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
"$BIN" deploy --gateway "$URL" --name echo --wasm "$WORK/echo.wasm" >/dev/null
"$BIN" deploy --gateway "$URL" --name hello --wasm "$WORK/hello.wasm" >/dev/null
"$BIN" deploy --gateway "$URL" --name pycon --artifact "$WORK/build/pycon/bundle.tar.gz" --fprocess "python3 index.py" >/dev/null
"$BIN" deploy --gateway "$URL" --name pyhttp --artifact "$WORK/build/pyhttp/bundle.tar.gz" --fprocess "python3 index.py" --env mode=http >/dev/null
"$BIN" deploy --gateway "$URL" --name nodehttp --artifact "$WORK/build/nodehttp/bundle.tar.gz" --fprocess "node index.js" --env mode=http >/dev/null

# The floor for http mode: the same python3-http handler and server, run directly on loopback without Stratus.
mkdir -p "$WORK/direct" && tar -xzf "$WORK/build/pyhttp/bundle.tar.gz" -C "$WORK/direct"
DIRECT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$WORK/direct" && PORT=$DIRECT_PORT exec /usr/bin/python3 index.py 2>/dev/null) &
DIRECT=$!
trap 'kill $SERVER $DIRECT 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$DIRECT_PORT/" && break; sleep 0.1; done

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "Hi"
LUA

run_wrk() { # label url [script]
  local extra=()
  [ -n "${3:-}" ] && extra=(-s "$3")
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "${extra[@]}" "$2" > "$WORK/wrk.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errors=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" | tr '\n' ' ' || true)
  printf '%-28s %10s req/s   p50 %8s   p99 %8s   %s\n' "$1" "$rps" "$p50" "$p99" "$errors"
  echo "$rps" > "$WORK/$1.rps"
}

{
  echo "# Stratus benchmarks $(date -u +%FT%TZ) on $(nproc) cores, wrk -t2 -c$CONNECTIONS -d$DURATION"
  echo
  echo "## Warm invocation through the gateway (same server, same run)"
  run_wrk healthz "$URL/healthz"
  run_wrk wasm-echo-c "$URL/function/echo" "$WORK/post.lua"
  run_wrk wasm-hello-swift "$URL/function/hello" "$WORK/post.lua"
  run_wrk process-pycon-python3 "$URL/function/pycon" "$WORK/post.lua"
  run_wrk http-python3-http "$URL/function/pyhttp" "$WORK/post.lua"
  run_wrk http-node "$URL/function/nodehttp" "$WORK/post.lua"
  run_wrk direct-python-http.server "http://127.0.0.1:$DIRECT_PORT/" "$WORK/post.lua"
  awk -v h="$(cat "$WORK/healthz.rps")" -v e="$(cat "$WORK/wasm-echo-c.rps")" -v s="$(cat "$WORK/wasm-hello-swift.rps")" \
    -v p="$(cat "$WORK/process-pycon-python3.rps")" -v y="$(cat "$WORK/http-python3-http.rps")" -v n="$(cat "$WORK/http-node.rps")" \
    -v d="$(cat "$WORK/direct-python-http.server.rps")" \
    'BEGIN { printf "ratio echo/healthz %.2f   hello/healthz %.2f   pycon(classic python3)/wasm-echo %.4f\n", e/h, s/h, p/e;
             printf "ratio python3-http/wasm-echo %.3f   node/wasm-echo %.3f   python3-http via Stratus/direct http.server %.2f\n", y/e, n/e, y/d }'
  echo
  echo "## Classic mode vs. a bare fork-and-exec server (bench/classic.sh: its own server)"
  STRATUS_BIN=$BIN DURATION=$DURATION bash bench/classic.sh | tail -n +2
  echo "## http mode vs. the same server direct, cold start vs. by hand, 200 MB bodies (bench/http.sh: its own server)"
  STRATUS_BIN=$BIN DURATION=$DURATION bash bench/http.sh
  echo "## Cluster: PostgreSQL store vs SQLite store, deploy to first 200 across nodes, async with 1 and 3 nodes (bench/cluster.sh)"
  STRATUS_BIN=$BIN DURATION=$DURATION bash bench/cluster.sh
  echo
  echo "## Wasm engines: Wasmtime vs WasmKit: guest compute vs native, echo/healthz, deploy -> first 200, RSS (bench/engines.sh: its own servers)"
  STRATUS_BIN=$BIN DURATION=$DURATION bash bench/engines.sh
  echo
  echo "## Alias routing: a version called through an alias vs directly (bench/aliases.sh: its own server)"
  STRATUS_BIN=$BIN bash bench/aliases.sh
  echo
  if [ "$(id -u)" = 0 ] && command -v buildah >/dev/null && command -v docker-registry >/dev/null; then
    echo "## Container images vs the same code as an http-mode bundle: warm req/s, deploy -> first answer (bench/images.sh)"
    STRATUS_BIN=$BIN DURATION=$DURATION bash bench/images.sh
    echo
  fi
  echo "## Cold start: deploy completes -> first answer (ms), new function each time"
  python3 bench/coldstart.py "$BIN" "$URL" "$WORK/hello.wasm" "$WORK/echo.wasm"
  echo
  echo "## Async invocations vs. sync calls of the Wasm echo (same server, same run)"
  python3 bench/async.py "$URL" echo "${ASYNC_CALLS:-3000}" 8
  echo
  echo "## Scale from zero: python3-http, first call after zero replicas vs. a warm call"
  python3 bench/scale_from_zero.py "$URL" pyhttp 10
  echo
  echo "## Memory: 500 Wasm functions deployed, called once and removed, 3 times over (same names)"
  python3 bench/memory.py "$URL" "$SERVER" "$WORK/echo.wasm" 500 3
  echo
  echo "## Per-call cost inside the runtime (microseconds)"
  "$RUNTIME_BENCH" --iterations 300 "$WORK/echo.wasm" "$WORK/hello.wasm"
  if [ -f .cache/models/efficientnet-lite0.onnx ] && [ -x "$INFERENCE_BENCH" ]; then
    echo
    echo "## Image classification: EfficientNet-Lite0, cat.jpg, 1 intra-op thread (median ms)"
    "$BIN" demo deploy --gateway "$URL" >/dev/null
    "$INFERENCE_BENCH" .cache/models/efficientnet-lite0.onnx .cache/models/photos/cat.jpg --iterations 50 | tee "$WORK/backend.txt"
    PYTHONPATH=.cache/pylib /usr/bin/python3 bench/inference.py "$URL/function/classify" .cache/models/efficientnet-lite0.onnx \
      .cache/models/photos/cat.jpg 50 | tee "$WORK/python.txt"
    # The issue's goal: the whole call within 1.2x of the backend's own decode + inference.
    awk '/^backend/ { for (i = 1; i <= NF; i++) if ($i == "decode+preprocess+infer") b = $(i + 2) }
         /^gateway/ { for (i = 1; i <= NF; i++) if ($i == "median") g = $(i + 1) }
         END { if (b > 0) printf "ratio    gateway call / backend decode+infer %.2f\n", g / b }' "$WORK/backend.txt" "$WORK/python.txt"
  fi
  if [ -d .cache/lambda-ric/python ]; then
    echo
    echo "## Custom runtimes (bench/lambda.sh: its own server)"
    DURATION=$DURATION bash bench/lambda.sh
  fi
} | tee "$OUT"
echo "Saved to $OUT"
