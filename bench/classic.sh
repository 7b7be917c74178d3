#!/usr/bin/env bash
# Classic mode against its floor, in one run: Stratus (sandbox, user switch, rlimits, a launcher per
# replica) vs. a bare fork-and-exec-per-request server (bench/ForkServer, what OpenFaaS's classic
# watchdog does inside its container), both running `cat` and the python3 template's `pycon`, with
# wrk at 1 and 16 connections. Needs a release build (STRATUS_BIN) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${STRATUS_BIN:-.build/release/stratus}")
DURATION=${DURATION:-5s}
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cc -O2 -o "$WORK/fork_server" bench/ForkServer/fork_server.c
(cd "$WORK" && "$BIN" new pycon --lang python3 >/dev/null && "$BIN" build -f stack.yml >/dev/null)
mkdir -p "$WORK/pycon" && tar -xzf "$WORK/build/pycon/bundle.tar.gz" -C "$WORK/pycon"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$BIN" serve --port 0 --no-auth --data-dir "$WORK/data" --log-level warning > "$WORK/serve.log" 2>&1 &
echo $! > "$WORK/serve.pid"
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
"$BIN" deploy --gateway "$URL" --name cat --fprocess cat >/dev/null
"$BIN" deploy --gateway "$URL" --name pycon --artifact "$WORK/build/pycon/bundle.tar.gz" --fprocess "python3 index.py" >/dev/null
CAT_PORT=$(free_port); PYCON_PORT=$(free_port)
"$WORK/fork_server" "$CAT_PORT" cat & echo $! > "$WORK/cat.pid"
(cd "$WORK/pycon" && exec "$WORK/fork_server" "$PYCON_PORT" /usr/bin/python3 index.py) & echo $! > "$WORK/pycon.pid"
printf 'wrk.method = "POST"\nwrk.body = "Hi"\n' > "$WORK/post.lua"
sleep 0.5

rate() { # url connections -> req/s
  wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$DURATION" -s "$WORK/post.lua" "$1" | awk '/Requests\/sec/ {print $2}'
}
RUNS=${RUNS:-3}
echo "# classic mode vs. a bare fork-and-exec server (bench/ForkServer), wrk -d$DURATION, median of $RUNS alternating runs"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for fn in cat pycon; do
  port=$CAT_PORT; [ "$fn" = pycon ] && port=$PYCON_PORT
  for c in 1 16; do
    : > "$WORK/s" ; : > "$WORK/f" ; : > "$WORK/r"
    for _ in $(seq "$RUNS"); do  # the pair side by side each time, so drift on the machine hits both
      s=$(rate "$URL/function/$fn" "$c"); f=$(rate "http://127.0.0.1:$port/" "$c")
      echo "$s" >> "$WORK/s"; echo "$f" >> "$WORK/f"; awk -v s="$s" -v f="$f" 'BEGIN { print s / f }' >> "$WORK/r"
    done
    awk -v n="$fn" -v c="$c" -v s="$(median < "$WORK/s")" -v f="$(median < "$WORK/f")" -v r="$(median < "$WORK/r")" -v all="$(tr '\n' ' ' < "$WORK/r")" \
      'BEGIN { printf "%-6s c=%-3s stratus %8.1f req/s   fork server %8.1f req/s   ratio %.2f (runs: %s)\n", n, c, s, f, r, all }'
  done
done
