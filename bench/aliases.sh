#!/usr/bin/env bash
# The cost of routing through an alias on the warm path, in one run on one server: the same Wasm echo
# module called as published versions (/function/echo:1, /function/echo:2), through a one-version
# alias (/function/echo:one → 1), through a weighted alias over both (/function/echo:canary, 50/50),
# and as $LATEST (/function/echo). wrk sends no X-Call-Id, so every call gets a fresh id and the
# weighted alias picks per call. Each round measures the five back to back; per round, `one` is
# compared with version 1, and `canary` with the rate a 50/50 mix of the two versions called directly
# would have (each version is its own function, with its own instances and inline-or-thread state);
# the medians of those ratios are the result.
# Needs a release build (BIN or STRATUS_BIN) and wrk. Goal: an alias within 3 % of a direct call.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BIN:-${STRATUS_BIN:-.build/release/stratus}}")
DURATION=${DURATION:-3s} CONNECTIONS=${CONNECTIONS:-16} ROUNDS=${ROUNDS:-15}
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
: > "$WORK/ratio-one.txt"; : > "$WORK/ratio-canary.txt"
# Paired rounds: each round measures all five back to back (in reverse order every other round, so a
# drift in the machine's speed does not favour one), and the alias/direct ratio is taken per round.
for round in $(seq "$ROUNDS"); do
  order=(0 1 2 3 4); [ $((round % 2)) = 0 ] && order=(4 3 2 1 0)
  declare -A r=()
  for i in "${order[@]}"; do r[$i]=$(rate "${paths[$i]}"); echo "${r[$i]}" >> "$WORK/${names[$i]}.txt"; done
  awk -v a="${r[3]}" -v v="${r[1]}" 'BEGIN { print a / v }' >> "$WORK/ratio-one.txt"
  awk -v a="${r[4]}" -v v="${r[1]}" -v w="${r[2]}" 'BEGIN { print a / (2 / (1 / v + 1 / w)) }' >> "$WORK/ratio-canary.txt"
done
echo "## warm req/s (wrk -c$CONNECTIONS -d$DURATION, $ROUNDS paired rounds; medians)"
for i in "${!names[@]}"; do
  printf '%-26s %10s req/s  (rounds: %s)\n' "/function/${paths[$i]}" "$(median < "$WORK/${names[$i]}.txt")" "$(tr '\n' ' ' < "$WORK/${names[$i]}.txt")"
done
verdict() { # label ratios-file
  awk -v m="$(median < "$2")" -v n="$1" 'BEGIN {
    printf "%-52s median ratio %.3f (%+.1f %%; goal within 3 %%: %s)\n", n, m, (m - 1) * 100, (m >= 0.97 ? "met" : "NOT met") }'
  echo "    per round: $(tr '\n' ' ' < "$2" | xargs printf '%.3f ')"
}
verdict "alias one (-> 1) vs version 1 called directly:" "$WORK/ratio-one.txt"
verdict "alias canary (1=50,2=50) vs a 50/50 direct mix:" "$WORK/ratio-canary.txt"
curl -fsS "$URL/system/function/echo" | python3 -c 'import json,sys; f=json.load(sys.stdin); print("calls per version:", {v["version"]: int(v["invocationCount"]) for v in f.get("versions", [])})'
