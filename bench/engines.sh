#!/usr/bin/env bash
# Wasmtime (compiled, Cranelift) vs WasmKit (interpreter), in one run, as ratios:
#  1. guest compute against the same code built natively: sha256 of 1 MiB and fib(30) in C
#     (bench/guests/compute.c: clang --target=wasm32-wasi -O2 vs gcc -O2 / clang -O2), and a JSON parse
#     in Swift (bench/guests/json.swift: Embedded Swift -O for WASI vs swiftc -O). Each program times
#     its own work (clock_gettime(CLOCK_MONOTONIC)) and prints its best per-iteration time, so process
#     and instance start are left out; the Wasm builds run through `stratus serve`, deployed once per
#     engine (annotation com.stratus.wasm.engine), called with curl-like POSTs (bench/engines.py).
#  2. warm Wasm echo through the gateway vs /healthz of the same server (wrk, in turns, medians):
#     echo_wasmtime/healthz and echo_wasmkit/healthz.
#  3. deploy -> first 200 of the classify demo (upload + deploy + first call, as `stratus deploy --wasm`
#     and a first curl do): fresh data dir, a new name on the same server, and a new name after a
#     restart on the same data dir (the compiled-code cache, where the binary has one); per engine,
#     each on its own server.
#  4. the server's VmRSS with COUNT echo functions deployed and called once, a fresh server per engine.
# Needs a release build (BIN or STRATUS_BIN, default .build/release/stratus), wrk, clang/gcc, the Swift
# toolchain with wasi-libc, and .cache/wasmtime (make setup-models; the model for part 3 too).
# Knobs (env): ITERATIONS (10) and BUDGET_MS (3000) per guest run, COMPUTE_ROUNDS (3); DURATION (5s),
# CONNECTIONS (16), ROUNDS (3) for wrk; COLD_ROUNDS (5); COUNT (1000) functions for the RSS part.
# Takes about 2 minutes on 2 cores with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_GIVEN=${BIN:-${STRATUS_BIN:-.build/release/stratus}}
BIN=$(realpath "$BIN_GIVEN")
ITERATIONS=${ITERATIONS:-10}
BUDGET_MS=${BUDGET_MS:-3000}
COMPUTE_ROUNDS=${COMPUTE_ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-3}
COLD_ROUNDS=${COLD_ROUNDS:-5}
COUNT=${COUNT:-1000}
ENGINES=(wasmtime wasmkit)
WORK=$(mktemp -d /tmp/stratus-engines-bench.XXXXXX)
: > "$WORK/pids"
cleanup() {
  # Only the servers this script started (their PIDs are in $WORK/pids while they run).
  for pid in $(cat "$WORK/pids" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  for pid in $(cat "$WORK/pids" 2>/dev/null); do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
SECONDS=0
[ -x "$BIN" ] || { echo "no stratus binary at $BIN (build release, or set BIN=)" >&2; exit 1; }
[ -f .cache/wasmtime/lib/libwasmtime.so ] || [ -n "${STRATUS_WASMTIME:-}" ] \
  || { echo "no Wasmtime library (.cache/wasmtime/lib/libwasmtime.so): run make setup-models" >&2; exit 1; }
# `stratus serve --wasm-engine` (newer builds): each per-engine server then defaults to its engine, so an
# upload is validated (for Wasmtime: compiled) by the engine that will run it.
if "$BIN" serve --help 2>&1 | grep -q -- '--wasm-engine'; then ENGINE_FLAG=1; else ENGINE_FLAG=0; fi

# ---- guests ----
RD=$(dirname "$(dirname "$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")")")
CLANG=/opt/swift/usr/bin/clang; [ -x "$CLANG" ] || CLANG=clang
SWIFTC=/opt/swift/usr/bin/swiftc; [ -x "$SWIFTC" ] || SWIFTC=swiftc
WASM_LD=$(dirname "$(command -v "$SWIFTC")")/wasm-ld
"$CLANG" --target=wasm32-wasi --sysroot=/usr -resource-dir "$RD" -O2 Tests/Fixtures/wasm/echo.c -o "$WORK/echo.wasm"
"$CLANG" --target=wasm32-wasi --sysroot=/usr -resource-dir "$RD" -O2 bench/guests/compute.c -o "$WORK/compute.wasm"
gcc -O2 bench/guests/compute.c -o "$WORK/compute-gcc"
"$CLANG" -O2 bench/guests/compute.c -o "$WORK/compute-clang"
"$SWIFTC" -O -parse-as-library -module-name JSONBench bench/guests/json.swift -o "$WORK/json-native" \
  -module-cache-path "$WORK/module-cache"
"$SWIFTC" -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded -enable-experimental-feature Extern \
  -wmo -O -Xfrontend -disable-stack-protector -parse-as-library -module-name JSONBench \
  -module-cache-path "$WORK/module-cache" -c bench/guests/json.swift -o "$WORK/json.o"
# The same source as Embedded Swift built natively (same code generation as the Wasm build, no engine): an extra baseline.
EMBEDDED_NATIVE=$(dirname "$(dirname "$(command -v "$SWIFTC")")")/lib/swift/embedded/x86_64-unknown-linux-gnu
if [ "$(uname -m)" = x86_64 ] && [ -d "$EMBEDDED_NATIVE" ]; then
  "$SWIFTC" -target x86_64-unknown-linux-gnu -enable-experimental-feature Embedded -enable-experimental-feature Extern \
    -wmo -O -parse-as-library -module-name JSONBench -module-cache-path "$WORK/module-cache" -c bench/guests/json.swift -o "$WORK/json-embedded.o" \
    && "$CLANG" "$WORK/json-embedded.o" $(ls "$EMBEDDED_NATIVE"/libswiftUnicodeDataTables.a 2>/dev/null) -o "$WORK/json-embedded" \
    || echo "(Embedded Swift native build failed: that baseline is left out)" >&2
fi
UNICODE=$(dirname "$(dirname "$(command -v "$SWIFTC")")")/lib/swift/embedded/wasm32-unknown-none-wasm/libswiftUnicodeDataTables.a
[ -f "$UNICODE" ] || UNICODE=
"$WASM_LD" /usr/lib/wasm32-wasi/crt1-command.o "$WORK/json.o" -L/usr/lib/wasm32-wasi -lc ${UNICODE:+"$UNICODE"} \
  "$RD/lib/wasi/libclang_rt.builtins-wasm32.a" --strip-debug -o "$WORK/json.wasm"
# The classify demo, built by stratus itself from examples/classify (as `stratus demo deploy` does).
mkdir -p "$WORK/demo" && cp -r examples/classify "$WORK/demo/classify"
printf 'version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  classify:\n    lang: swift-wasm\n    handler: ./classify\n    image: classify:latest\n' \
  > "$WORK/demo/stack.yml"
"$BIN" build -f "$WORK/demo/stack.yml" > "$WORK/build-classify.log" 2>&1 || { cat "$WORK/build-classify.log" >&2; exit 1; }
CLASSIFY=$WORK/demo/build/classify/function.wasm
MODEL=.cache/models/efficientnet-lite0.onnx
PHOTO=.cache/models/photos/cat.json
printf 'wrk.method = "POST"\nwrk.body = "Hi"\n' > "$WORK/post.lua"

# ---- servers ----
start_server() { # label data-dir engine|- log-level -> URL, PID
  local extra=()
  if [ "$3" != - ] && [ "$ENGINE_FLAG" = 1 ]; then extra=(--wasm-engine "$3"); fi
  "$BIN" serve --port 0 --no-auth --data-dir "$2" --log-level "$4" ${extra[@]+"${extra[@]}"} > "$WORK/serve-$1.log" 2>&1 &
  PID=$!
  echo "$PID" >> "$WORK/pids"
  for _ in $(seq 300); do grep -q "listening on" "$WORK/serve-$1.log" && break; sleep 0.05; done
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve-$1.log" | head -1)
  [ -n "$URL" ] || { echo "server $1 did not start:" >&2; cat "$WORK/serve-$1.log" >&2; exit 1; }
}
stop_server() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  sed -i "/^$PID\$/d" "$WORK/pids"
}
deploy() { # name module-or-image engine
  "$BIN" deploy --gateway "$URL" --name "$1" --wasm "$2" --image "$1:latest" --annotation "com.stratus.wasm.engine=$3" \
    --annotation com.stratus.timeout=120s >/dev/null
}

echo "# Wasm engines: Wasmtime vs WasmKit, $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "# binary $BIN_GIVEN ($([ "$ENGINE_FLAG" = 1 ] && echo "with --wasm-engine" || echo "engines by annotation only")), Wasmtime $(cat .cache/wasmtime/VERSION 2>/dev/null || echo '?')"
start_server main "$WORK/data-main" - warning
MAIN_PID=$PID
for engine in "${ENGINES[@]}"; do
  deploy "compute-$engine" "$WORK/compute.wasm" "$engine"
  deploy "json-$engine" "$WORK/json.wasm" "$engine"
  deploy "echo-$engine" "$WORK/echo.wasm" "$engine"
  for fn in compute json echo; do
    ran=$(python3 bench/engines.py engine "$URL" "$fn-$engine")
    if [ "$ran" != - ] && [ "$ran" != "$engine" ]; then echo "$fn-$engine runs on $ran, not $engine" >&2; exit 1; fi
  done
done

echo
echo "## 1. Guest compute vs the same code native (best per-iteration time inside the program)"
python3 bench/engines.py compute "$URL" "$WORK" "$ITERATIONS" "$BUDGET_MS" "$COMPUTE_ROUNDS"
ls -l "$WORK/compute.wasm" "$WORK/json.wasm" | awk '{printf "%s %d bytes  ", $NF, $5} END {print ""}' | sed "s|$WORK/||g"

echo
echo "## 2. Warm echo through the gateway vs /healthz, same server (wrk -t2 -c$CONNECTIONS -d$DURATION, medians of $ROUNDS rounds in turns)"
rate() { # url -> "req/s p50"
  local script=()
  [ -n "${2:-}" ] && script=(-s "$2")
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency ${script[@]+"${script[@]}"} "$1" > "$WORK/wrk.txt"
  if grep -qE "Non-2xx|Socket errors" "$WORK/wrk.txt"; then grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" >&2; fi
  echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") $(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$WORK/healthz.txt"; : > "$WORK/echo-wasmtime.txt"; : > "$WORK/echo-wasmkit.txt"
for _ in $(seq "$ROUNDS"); do
  rate "$URL/healthz" >> "$WORK/healthz.txt"
  rate "$URL/function/echo-wasmtime" "$WORK/post.lua" >> "$WORK/echo-wasmtime.txt"
  rate "$URL/function/echo-wasmkit" "$WORK/post.lua" >> "$WORK/echo-wasmkit.txt"
done
for t in healthz echo-wasmtime echo-wasmkit; do
  printf '%-14s %10.1f req/s  (rounds: %s; p50: %s)\n' "$t" "$(cut -d' ' -f1 "$WORK/$t.txt" | median)" \
    "$(cut -d' ' -f1 "$WORK/$t.txt" | tr '\n' ' ' | sed 's/ $//')" "$(cut -d' ' -f2 "$WORK/$t.txt" | tr '\n' ' ' | sed 's/ $//')"
done
awk -v h="$(cut -d' ' -f1 "$WORK/healthz.txt" | median)" -v t="$(cut -d' ' -f1 "$WORK/echo-wasmtime.txt" | median)" \
  -v k="$(cut -d' ' -f1 "$WORK/echo-wasmkit.txt" | median)" \
  'BEGIN { printf "ratio echo_wasmtime/healthz %.2f (goal >= 0.6: %s)   echo_wasmkit/healthz %.2f   wasmtime/wasmkit %.2f\n",
           t / h, (t / h >= 0.6 ? "met" : "NOT met"), k / h, t / k }'
echo "server RSS after parts 1-2: $(awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$MAIN_PID/status")"
stop_server

echo
echo "## 3. Deploy -> first 200 of classify ($(wc -c < "$CLASSIFY") bytes; upload + deploy + first call with cat.json), $COLD_ROUNDS rounds, own server per engine"
if [ -f "$MODEL" ] && [ -f "$PHOTO" ]; then BODY=$PHOTO; else
  echo "(no model in .cache/models: make setup-models; measuring up to the first answer that is not a 5xx instead)"; BODY=/dev/null; fi
: > "$WORK/cold.txt"
compiles() { # log -> "compiled loaded-from-cache"
  echo "$(grep -c 'Wasmtime compiled a module' "$1" || true) $(grep -c 'loaded from the compiled-code cache' "$1" || true)"
}
cold() { # engine scenario round name log
  local before after model=-
  [ "$BODY" = "$PHOTO" ] && model=$(python3 bench/engines.py upload "$URL" "$MODEL" model:1 model)  # loaded before the clock starts
  before=$(compiles "$5")
  line=$(python3 bench/engines.py cold "$URL" "$1" "$4" "$CLASSIFY" "$model" "$BODY")
  after=$(compiles "$5")
  echo "$1 $2 $3 $(( ${after% *} - ${before% *} )) $(( ${after#* } - ${before#* } )) $line" >> "$WORK/cold.txt"
}
for round in $(seq "$COLD_ROUNDS"); do
  for engine in "${ENGINES[@]}"; do
    data="$WORK/data-cold-$engine-$round"
    start_server "cold-$engine-$round-a" "$data" "$engine" info
    cold "$engine" fresh-data-dir "$round" classify-a "$WORK/serve-cold-$engine-$round-a.log"
    cold "$engine" same-server-new-name "$round" classify-b "$WORK/serve-cold-$engine-$round-a.log"
    # Removed, so the restarted server restores nothing and the next deploy is the first use of the module.
    for f in classify-a classify-b; do "$BIN" remove --gateway "$URL" "$f" >/dev/null; done
    stop_server
    start_server "cold-$engine-$round-b" "$data" "$engine" info
    cold "$engine" restart-new-name "$round" classify-c "$WORK/serve-cold-$engine-$round-b.log"
    stop_server
  done
done
python3 - "$WORK/cold.txt" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    engine, scenario, _round, compiled, cached, data = line.split(" ", 5)
    d = json.loads(data)
    d["compiled"], d["cached"] = int(compiled), int(cached)
    rows.setdefault((engine, scenario), []).append(d)
print(f"{'engine':9} {'scenario':22} {'total ms (median)':>17} {'upload':>8} {'deploy':>8} {'1st call':>9}  {'all totals':24} compiles/cache loads  answer")
med = {}
for (engine, scenario), ds in rows.items():
    m = lambda k: statistics.median(d[k] for d in ds)
    med[(engine, scenario)] = m("total_ms")
    ran = {d["ran_on"] for d in ds} - {"-"}
    totals = " ".join("%.0f" % d["total_ms"] for d in ds)
    compiles = "%d/%d" % (sum(d["compiled"] for d in ds), sum(d["cached"] for d in ds))
    print(f"{engine:9} {scenario:22} {m('total_ms'):17.1f} {m('upload_ms'):8.1f} {m('deploy_ms'):8.1f} {m('first_call_ms'):9.1f}  "
          f"{totals:24} {compiles:<20} "
          f"{ds[-1]['status']} {ds[-1]['answer'][:28]}" + (f"  (ran on {','.join(ran)})" if ran and ran != {engine} else ""))
for scenario in ("fresh-data-dir", "same-server-new-name", "restart-new-name"):
    t, k = med.get(("wasmtime", scenario)), med.get(("wasmkit", scenario))
    if t and k:
        print(f"ratio wasmtime/wasmkit {scenario:22} {t / k:.2f}")
t0, t1 = med.get(("wasmtime", "fresh-data-dir")), med.get(("wasmtime", "restart-new-name"))
if t0 and t1:
    print(f"ratio wasmtime restart-new-name/fresh-data-dir {t1 / t0:.2f} (below 1 when the compiled-code cache is hit)")
PY

echo
echo "## 4. Server RSS with $COUNT echo functions deployed and called once (fresh server and data dir per engine)"
for engine in "${ENGINES[@]}"; do
  start_server "rss-$engine" "$WORK/data-rss-$engine" "$engine" warning
  python3 bench/engines.py rss "$URL" "$PID" "$WORK/echo.wasm" "$engine" "$COUNT" > "$WORK/rss-$engine.json"
  stop_server
done
python3 - "$WORK/rss-wasmtime.json" "$WORK/rss-wasmkit.json" <<'PY'
import json, sys
rows = [json.load(open(p)) for p in sys.argv[1:]]
for r in rows:
    ran = f" (ran on {r['ran_on']})" if r["ran_on"] not in ("-", r["engine"]) else ""
    print(f"{r['engine']:9} idle {r['idle_mib']:6.1f} MiB  after deploys {r['after_deploy_mib']:6.1f}  after calls {r['after_calls_mib']:6.1f} MiB"
          f"  ({r['per_function_kib']:.0f} KiB per function; deploys {r['deploy_s']:.1f} s, calls {r['calls_s']:.1f} s){ran}")
if len(rows) == 2:
    t, k = rows
    print(f"ratio RSS wasmtime/wasmkit after calls {t['after_calls_mib'] / k['after_calls_mib']:.2f}"
          f"   per function {t['per_function_kib'] / max(k['per_function_kib'], 0.001):.2f}")
PY
echo
echo "# done in ${SECONDS}s, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
