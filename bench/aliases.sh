#!/usr/bin/env bash
# The cost of routing through an alias on the warm path, in one run on one server: the same Wasm echo
# module called as published versions (/function/echo:1, /function/echo:2), through a one-version
# alias (/function/echo:one → 1), through a weighted alias over both (/function/echo:canary, 50/50),
# and as $LATEST (/function/echo). wrk sends no X-Call-Id, so every call gets a fresh id and the
# weighted alias picks per call. Rounds interleave the five; medians are compared: `one` with
# version 1, `canary` with the rate a 50/50 mix of the two versions called directly would have
# (each version is its own function, with its own instances and its own inline-or-thread state).
# Needs a release build (BIN or STRATUS_BIN) and wrk. Goal: an alias within 3 % of a direct call.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BIN:-${STRATUS_BIN:-.build/release/stratus}}")
DURATION=${DURATION:-5s} CONNECTIONS=${CONNECTIONS:-16} ROUNDS=${ROUNDS:-5}
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

RD=$(dirname "$(dirname "$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")")")
/opt/swift/usr/bin/clang --target=wasm32-wasi --sysroot=/usr -resource-dir "$RD" -O2 Tests/Fixtures/wasm/echo.c -o "$WORK/echo.wasm"
"$BIN" serve --port 0 --no-auth --data-dir "$WORK/data" --log-level warning > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
"$BIN" deploy --gateway "$URL" --name echo --wasm "$WORK/echo.wasm" >/dev/null
"$BIN" publish --gateway "$URL" echo >/dev/null
"$BIN" publish --gateway "$URL" echo >/dev/null
"$BIN" alias set --gateway "$URL" echo one 1 >/dev/null
"$BIN" alias set --gateway "$URL" echo canary 1=50,2=50 >/dev/null
for path in echo echo:1 echo:one echo:canary; do
  [ "$(curl -fsS -d hi "$URL/function/$path")" = hi ] || { echo "/function/$path does not echo" >&2; exit 1; }
done

echo "# Alias routing on the warm path, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'wrk.method = "POST"\nwrk.body = "Hi"\n' > "$WORK/post.lua"
rate() { wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/post.lua" "$URL/function/$1" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
names=(latest version version2 one canary); paths=(echo echo:1 echo:2 echo:one echo:canary)
for n in "${names[@]}"; do : > "$WORK/$n.txt"; done
for _ in $(seq "$ROUNDS"); do
  for i in "${!names[@]}"; do rate "${paths[$i]}" >> "$WORK/${names[$i]}.txt"; done
done
echo "## warm req/s (wrk -c$CONNECTIONS -d$DURATION, median of $ROUNDS interleaved rounds)"
for i in "${!names[@]}"; do
  printf '%-34s %10s req/s  (rounds: %s)\n' "/function/${paths[$i]}" "$(median < "$WORK/${names[$i]}.txt")" "$(tr '\n' ' ' < "$WORK/${names[$i]}.txt")"
done
V=$(median < "$WORK/version.txt"); V2=$(median < "$WORK/version2.txt")
compare() { # label alias-rate direct-rate
  awk -v a="$2" -v v="$3" -v n="$1" 'BEGIN {
    printf "%-48s %.3f (%+.1f %%; goal within 3 %%: %s)\n", n, a / v, (a / v - 1) * 100, ((a / v) >= 0.97 ? "met" : "NOT met") }'
}
compare "alias one (→ 1) vs version 1 called directly:" "$(median < "$WORK/one.txt")" "$V"
compare "alias canary (1=50,2=50) vs a 50/50 direct mix:" "$(median < "$WORK/canary.txt")" "$(awk -v a="$V" -v b="$V2" 'BEGIN { print 2 / (1 / a + 1 / b) }')"
curl -fsS "$URL/system/function/echo" | python3 -c 'import json,sys; f=json.load(sys.stdin); print("calls per version:", {v["version"]: int(v["invocationCount"]) for v in f.get("versions", [])})'
