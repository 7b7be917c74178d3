#!/usr/bin/env bash
# http mode against its floor, in one run: the python3-http template behind Stratus (a replica in
# the sandbox, the gateway's proxy in front) vs. the same server run directly on loopback, with wrk
# at 1 and 16 connections, in turns. Then the cold start (bench/coldstart_http.py) and the peak
# memory of a 200 MB body through the classic `cat` and the python3-http echo.
# Needs a release build (STRATUS_BIN) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${STRATUS_BIN:-.build/release/stratus}")
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
(cd "$WORK" && "$BIN" new pyhttp --lang python3-http >/dev/null && "$BIN" build -f stack.yml >/dev/null)
mkdir -p "$WORK/direct" && tar -xzf "$WORK/build/pyhttp/bundle.tar.gz" -C "$WORK/direct"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$BIN" serve --port 0 --no-auth --data-dir "$WORK/data" --log-level warning --max-body-size 512Mi --max-response-size 512Mi \
  > "$WORK/serve.log" 2>&1 &
echo $! > "$WORK/serve.pid"
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
"$BIN" deploy --gateway "$URL" --name pyhttp --artifact "$WORK/build/pyhttp/bundle.tar.gz" --fprocess "python3 index.py" --env mode=http >/dev/null
"$BIN" deploy --gateway "$URL" --name cat --fprocess cat >/dev/null
DIRECT_PORT=$(free_port)
(cd "$WORK/direct" && PORT=$DIRECT_PORT exec /usr/bin/python3 index.py 2>/dev/null) & echo $! > "$WORK/direct.pid"
printf 'wrk.method = "POST"\nwrk.body = "Hi"\n' > "$WORK/post.lua"
sleep 0.5

rate() { # url connections -> "req/s p50"
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$DURATION" --latency -s "$WORK/post.lua" "$1" > "$WORK/wrk.txt"
  echo "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") $(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "# http mode: python3-http behind Stratus vs. the same server direct, wrk -d$DURATION, medians of $ROUNDS rounds in turns"
for c in 1 16; do
  : > "$WORK/s.txt"; : > "$WORK/d.txt"
  for _ in $(seq "$ROUNDS"); do
    rate "$URL/function/pyhttp" "$c" >> "$WORK/s.txt"
    rate "http://127.0.0.1:$DIRECT_PORT/" "$c" >> "$WORK/d.txt"
  done
  s=$(cut -d' ' -f1 "$WORK/s.txt" | median); d=$(cut -d' ' -f1 "$WORK/d.txt" | median)
  awk -v c="$c" -v s="$s" -v d="$d" -v ps="$(cut -d' ' -f2 "$WORK/s.txt" | tr '\n' ' ')" -v pd="$(cut -d' ' -f2 "$WORK/d.txt" | tr '\n' ' ')" \
    'BEGIN { printf "c=%-3s stratus %8.1f req/s (p50 %s)  direct %8.1f req/s (p50 %s)  ratio %.2f\n", c, s, ps, d, pd, s / d }'
done

python3 bench/coldstart_http.py "$URL" "$WORK/build/pyhttp/bundle.tar.gz" "python3 index.py" 10

echo "# peak memory of the server for a 200 MB body (VmHWM before and after)"
head -c 200000000 /dev/urandom > "$WORK/body"
PID=$(cat "$WORK/serve.pid")
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$PID/status"; }
for fn in cat pyhttp; do
  before=$(hwm)
  out=$(curl -s -o "$WORK/out" -w '%{http_code} %{size_download}' --data-binary @"$WORK/body" "$URL/function/$fn")
  echo "$fn: answer $out, peak RSS $before -> $(hwm) MiB (+$(( $(hwm) - before )) MiB)"
done
