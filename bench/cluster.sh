#!/usr/bin/env bash
# The cluster benchmarks (`make bench` runs them; alone: bench/cluster.sh after a release build):
# a private PostgreSQL 15 on a free port (as the postgres user when root), then bench/cluster.py:
# warm Wasm echo on the PostgreSQL store vs the SQLite store (same run, ratio), deploy-to-first-200
# across nodes (p50/p99), async calls completed per second with 1 and 3 nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${STRATUS_BIN:-.build/release/stratus}")
PG=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/stratus-cluster-bench.XXXXXX)
chmod 755 "$WORK"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_postgres "$PG/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

RD=$(dirname "$(dirname "$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")")")
/opt/swift/usr/bin/clang --target=wasm32-wasi --sysroot=/usr -resource-dir "$RD" -O2 Tests/Fixtures/wasm/echo.c -o "$WORK/echo.wasm"
printf 'wrk.method = "POST"\nwrk.body = "Hi"\n' > "$WORK/post.lua"

mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_postgres "$PG/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
# Durable commits (fsync on), as a real deployment runs: the SQLite store syncs every commit too.
as_postgres "$PG/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w start -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$WORK/pg -c max_connections=200" >/dev/null
"$PG/createdb" -h 127.0.0.1 -p "$port" -U postgres stratus
POST_LUA="$WORK/post.lua" python3 bench/cluster.py "$BIN" "postgres://postgres@127.0.0.1:$port/stratus?sslmode=disable" "$WORK/echo.wasm"
