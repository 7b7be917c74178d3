#!/usr/bin/env bash
# A local Stratus cluster in one command (`make cluster`): a private PostgreSQL 15 (initdb and pg_ctl
# in a temporary directory, on a free loopback port, as the `postgres` user when run as root, since
# PostgreSQL refuses to run as root) and NODES `stratus serve` nodes sharing it, each on its own free
# port and data directory, with one secret key and one admin credential. Prints the URLs and the
# login; Ctrl-C stops the nodes and the database and removes the directory.
#
#   NODES=3 BIN=.build/debug/stratus scripts/cluster.sh
set -euo pipefail
NODES=${NODES:-3}
BIN=${BIN:-.build/debug/stratus}
PG=/usr/lib/postgresql/15/bin
[ -x "$BIN" ] || { echo "no $BIN: build first (swift build)" >&2; exit 1; }
[ -x "$PG/initdb" ] || { echo "PostgreSQL 15 is not installed: apt-get install -y postgresql-15" >&2; exit 1; }
BIN=$(realpath "$BIN")

root=$(mktemp -d /tmp/stratus-cluster.XXXXXX)
chmod 755 "$root"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    as_postgres "$PG/pg_ctl" -D "$root/pg" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

mkdir -p "$root/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$root/pg"
pg_port=$(free_port)
as_postgres "$PG/initdb" -D "$root/pg" -U postgres --auth=trust -E UTF8 >/dev/null
as_postgres "$PG/pg_ctl" -D "$root/pg" -l "$root/pg/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$root/pg" >/dev/null
"$PG/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres stratus
store="postgres://postgres@127.0.0.1:$pg_port/stratus?sslmode=disable"

head -c 32 /dev/urandom > "$root/secret.key"
chmod 600 "$root/secret.key"
password=$(head -c 18 /dev/urandom | base64 | tr -d '+/=')
printf '{"user": "admin", "password": "%s"}' "$password" > "$root/credentials"
chmod 600 "$root/credentials"

urls=()
for i in $(seq 1 "$NODES"); do
    port=$(free_port)
    mkdir -p "$root/node-$i"
    STRATUS_STORE="$store" "$BIN" serve --port "$port" --data-dir "$root/node-$i" --node-name "node-$i" \
        --secret-key-file "$root/secret.key" --credentials-file "$root/credentials" >"$root/node-$i.log" 2>&1 &
    pids+=($!)
    urls+=("http://127.0.0.1:$port")
done
for url in "${urls[@]}"; do
    for _ in $(seq 1 200); do curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && break; sleep 0.05; done
    curl -fsS -o /dev/null "$url/healthz" || { echo "a node did not start; its log:" >&2; cat "$root"/node-*.log >&2; exit 1; }
done

cat <<INFO
Stratus cluster: $NODES nodes on PostgreSQL $store
$(for i in "${!urls[@]}"; do echo "  node-$((i + 1)): ${urls[$i]}   (log: $root/node-$((i + 1)).log)"; done)
Log in (any node): echo '$password' | $BIN login --gateway ${urls[0]} --username admin --password-stdin
Then: $BIN nodes --gateway ${urls[0]}     $BIN deploy --gateway ${urls[0]} ...     $BIN invoke --gateway ${urls[1]} NAME
Ctrl-C stops the cluster and removes $root.
INFO
wait
