#!/usr/bin/env bash
# Container images vs the same code as an http-mode bundle, in one run on one server:
#   1. warm req/s: a busybox httpd whose CGI echoes the body, run from an image under runc vs the
#      same httpd and CGI as an http-mode bundle in the bubblewrap sandbox (wrk, medians of ROUNDS);
#   2. cold start: deploy of an already-pulled image -> first answer vs deploy of the uploaded bundle
#      -> first answer (a new function each time, median of COLD_ROUNDS).
# Needs root, a release build (BIN or STRATUS_BIN), wrk, buildah, skopeo, umoci, runc, docker-registry, busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BIN:-${STRATUS_BIN:-.build/release/stratus}}")
DURATION=${DURATION:-5s} CONNECTIONS=${CONNECTIONS:-16} ROUNDS=${ROUNDS:-3} COLD_ROUNDS=${COLD_ROUNDS:-5}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- the code: busybox httpd + a CGI echo, as an image and as a bundle ----
mkdir -p "$WORK/app/www/cgi-bin" "$WORK/app/www/_"
cat > "$WORK/app/www/cgi-bin/index.cgi" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
cat
CGI
chmod +x "$WORK/app/www/cgi-bin/index.cgi"
echo OK > "$WORK/app/www/_/health"
tar -czf "$WORK/bundle.tar.gz" -C "$WORK/app" www

REG_PORT=$(free_port)
cat > "$WORK/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$REG_PORT}
log: {level: error}
YML
docker-registry serve "$WORK/registry.yml" > /dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$REG_PORT/v2/" >/dev/null && break; sleep 0.1; done
ctr=$(buildah from scratch); mnt=$(buildah mount "$ctr")
mkdir -p "$mnt/bin" "$mnt/tmp" && chmod 1777 "$mnt/tmp" && cp /usr/bin/busybox "$mnt/bin/busybox"
for a in sh cat printf httpd; do ln -s busybox "$mnt/bin/$a"; done
cp -a "$WORK/app/www" "$mnt/www"; buildah umount "$ctr" >/dev/null
buildah config --entrypoint '["/bin/busybox","sh","-c","exec /bin/busybox httpd -f -p ${port:-8080} -h /www"]' --user 65534:65534 "$ctr"
buildah commit -q "$ctr" localhost/stratus-bench-echo:1 >/dev/null; buildah rm "$ctr" >/dev/null
buildah push -q --tls-verify=false localhost/stratus-bench-echo:1 "docker://127.0.0.1:$REG_PORT/bench/echo:1"
buildah rmi localhost/stratus-bench-echo:1 >/dev/null
IMAGE="127.0.0.1:$REG_PORT/bench/echo:1"

# ---- one server ----
"$BIN" serve --port 0 --no-auth --data-dir "$WORK/data" --log-level warning --insecure-registry "127.0.0.1:$REG_PORT" > "$WORK/serve.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1)
FPROCESS="sh -c 'exec busybox httpd -f -p \$PORT -h www'"
deploy_image() { curl -fsS -o /dev/null -d "{\"service\": \"$1\", \"image\": \"$IMAGE\"}" "$URL/system/functions"; }
deploy_bundle() { "$BIN" deploy --gateway "$URL" --name "$1" --image bundle:latest --fprocess "$FPROCESS" --env mode=http \
  --annotation com.openfaas.health.http.path=/_/health >/dev/null; }
"$BIN" deploy --gateway "$URL" --name bundle --artifact "$WORK/bundle.tar.gz" --fprocess "$FPROCESS" --env mode=http \
  --annotation com.openfaas.health.http.path=/_/health >/dev/null
deploy_image image
[ "$(curl -fsS -d hi "$URL/function/image")" = hi ] && [ "$(curl -fsS -d hi "$URL/function/bundle")" = hi ] || { echo "the functions do not echo" >&2; exit 1; }

echo "# Container image vs the same code as an http-mode bundle, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'wrk.method = "POST"\nwrk.body = "Hi"\n' > "$WORK/post.lua"
rate() { wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/post.lua" "$1" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$WORK/image.txt"; : > "$WORK/bundle.txt"
for _ in $(seq "$ROUNDS"); do rate "$URL/function/image" >> "$WORK/image.txt"; rate "$URL/function/bundle" >> "$WORK/bundle.txt"; done
I=$(median < "$WORK/image.txt"); B=$(median < "$WORK/bundle.txt")
echo "## 1. warm req/s (wrk -c$CONNECTIONS -d$DURATION, median of $ROUNDS)"
echo "image (runc)      $I req/s  (rounds: $(tr '\n' ' ' < "$WORK/image.txt"))"
echo "bundle (bwrap)    $B req/s  (rounds: $(tr '\n' ' ' < "$WORK/bundle.txt"))"
awk -v i="$I" -v b="$B" 'BEGIN { printf "ratio image/bundle %.2f (goal >= 0.9: %s)\n", i / b, (i / b >= 0.9 ? "met" : "NOT met") }'

echo "## 2. deploy -> first answer, a new function each time (image already pulled; bundle already uploaded), ms"
now() { date +%s%N; }
: > "$WORK/cold-image.txt"; : > "$WORK/cold-bundle.txt"
for n in $(seq "$COLD_ROUNDS"); do
  t=$(now); deploy_image "ci$n"; curl -fsS -o /dev/null -d x "$URL/function/ci$n"; echo $(( ($(now) - t) / 1000000 )) >> "$WORK/cold-image.txt"
  t=$(now); deploy_bundle "cb$n"; curl -fsS -o /dev/null -d x "$URL/function/cb$n"; echo $(( ($(now) - t) / 1000000 )) >> "$WORK/cold-bundle.txt"
done
CI=$(median < "$WORK/cold-image.txt"); CB=$(median < "$WORK/cold-bundle.txt")
echo "image   $CI ms  (all: $(tr '\n' ' ' < "$WORK/cold-image.txt"))"
echo "bundle  $CB ms  (all: $(tr '\n' ' ' < "$WORK/cold-bundle.txt"))"
awk -v i="$CI" -v b="$CB" 'BEGIN { printf "ratio image/bundle %.2f\n", i / b }'
for n in $(seq "$COLD_ROUNDS"); do "$BIN" remove --gateway "$URL" "ci$n" "cb$n" >/dev/null; done
"$BIN" remove --gateway "$URL" image bundle >/dev/null
