#!/usr/bin/env bash
# Two builds of stratus side by side (e.g. main before a change and after it): each serves the same
# functions on its own port, and wrk measures them in turns (A, B, A, B, ...) so both see the same
# machine. Reports req/s and p50 per function and build, and B/A per function (medians of ROUNDS).
#   bench/compare.sh BEFORE_BIN AFTER_BIN      (release builds; wrk installed)
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "${1:?usage: bench/compare.sh BEFORE_BIN AFTER_BIN}")
B=$(realpath "${2:?usage: bench/compare.sh BEFORE_BIN AFTER_BIN}")
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-16}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT

RD=$(dirname "$(dirname "$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")")")
/opt/swift/usr/bin/clang --target=wasm32-wasi --sysroot=/usr -resource-dir "$RD" -O2 Tests/Fixtures/wasm/echo.c -o "$WORK/echo.wasm"
(cd "$WORK" && "$B" new pycon --lang python3 >/dev/null && "$B" new pyhttp --lang python3-http >/dev/null && "$B" build -f stack.yml >/dev/null)

start() { # label binary -> URL on stdout
  "$2" serve --port 0 --no-auth --data-dir "$WORK/data-$1" --log-level warning > "$WORK/serve-$1.log" 2>&1 &
  echo $! > "$WORK/$1.pid"
  for _ in $(seq 100); do grep -q "listening on" "$WORK/serve-$1.log" && break; sleep 0.1; done
  local url
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve-$1.log" | head -1)
  "$2" deploy --gateway "$url" --name echo --wasm "$WORK/echo.wasm" >/dev/null
  "$2" deploy --gateway "$url" --name pycon --artifact "$WORK/build/pycon/bundle.tar.gz" --fprocess "python3 index.py" >/dev/null
  "$2" deploy --gateway "$url" --name pyhttp --artifact "$WORK/build/pyhttp/bundle.tar.gz" --fprocess "python3 index.py" --env mode=http >/dev/null
  echo "$url"
}
URL_A=$(start before "$A")
URL_B=$(start after "$B")
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "Hi"
LUA

measure() { # url -> "rps p50"
  wrk -t"$(( CONNECTIONS < 2 ? 1 : 2 ))" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/post.lua" "$1" > "$WORK/wrk.txt"
  echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") $(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# before: $A   after: $B   wrk -t2 -c$CONNECTIONS -d$DURATION, $ROUNDS rounds each, in turns"
for fn in echo pycon pyhttp; do
  : > "$WORK/a.txt"; : > "$WORK/b.txt"
  for _ in $(seq "$ROUNDS"); do
    measure "$URL_A/function/$fn" >> "$WORK/a.txt"
    measure "$URL_B/function/$fn" >> "$WORK/b.txt"
  done
  ra=$(cut -d' ' -f1 "$WORK/a.txt" | median); rb=$(cut -d' ' -f1 "$WORK/b.txt" | median)
  pa=$(cut -d' ' -f2 "$WORK/a.txt" | tr '\n' ' '); pb=$(cut -d' ' -f2 "$WORK/b.txt" | tr '\n' ' ')
  awk -v f="$fn" -v a="$ra" -v b="$rb" -v pa="$pa" -v pb="$pb" \
    'BEGIN { printf "%-7s before %9.1f req/s (p50 %s)  after %9.1f req/s (p50 %s)  after/before %.3f\n", f, a, pa, b, pb, b / a }'
done
