#!/usr/bin/env bash
# Runs `stratus serve` from the image that scripts/build-image.sh made, under runc, with the
# container settings of deploy/kubernetes: read-only root, a tmpfs /tmp, uid 0 holding only
# CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID and CAP_KILL. Then checks what a kubelet would:
#
#   1. /healthz answers (and how long after `runc run` it first did), /system/info;
#   2. the process sandbox works with exactly those capabilities: a process function deployed
#      through the API runs as nobody (65534) in its own pid namespace, the data directory hidden;
#   3. SIGTERM (what Kubernetes sends after preStop) stops the server cleanly.
#
# The container shares the host's network namespace so this script can reach it on 127.0.0.1.
#
# Usage: scripts/run-image-with-runc.sh [--image NAME | --oci DIR[:TAG]] [--port PORT] [--keep]
#   --image NAME   image in buildah's storage (default localhost/stratus:dev), exported with `buildah push`
#   --oci DIR:TAG  an OCI image layout instead (e.g. the one build-image.sh wrote), unpacked with umoci
#   --caps LIST    comma-separated capabilities instead of the Deployment's (e.g. "" to see Stratus
#                  without a sandbox)
#   --keep         leave the bundle in place (its path is printed)
# Needs root; installs runc and umoci with apt if missing. Not crun: crun 1.8 refuses cgroup
# hybrid mode, which some hosts (this one) run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="localhost/stratus:dev"
OCI=""
PORT=18080
KEEP=0
# Keep in step with deploy/kubernetes/base/deployment.yaml (securityContext.capabilities.add).
CAPS="CAP_SYS_ADMIN,CAP_SETUID,CAP_SETGID,CAP_KILL"
while (($#)); do
  case "$1" in
    --image) IMAGE="$2"; shift ;;
    --oci) OCI="$2"; shift ;;
    --port) PORT="$2"; shift ;;
    --caps) CAPS="$2"; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '==> %s\n' "$*"; }
now_ms() { date +%s%3N; }

[[ $EUID -eq 0 ]] || { echo "error: run as root (runc without rootless mappings)" >&2; exit 1; }
for tool in runc umoci curl python3; do
  command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then
  echo "error: something already listens on 127.0.0.1:$PORT (use --port)" >&2
  exit 1
fi

work="$(mktemp -d /tmp/stratus-runc.XXXXXX)"
name="stratus-check-$$"
cleanup() {
  runc kill "$name" KILL >/dev/null 2>&1 || true
  runc delete --force "$name" >/dev/null 2>&1 || true
  if ((KEEP)); then echo "bundle kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- 1. the image as a runtime bundle ---------------------------------------------------------
t=$(now_ms)
if [[ -z "$OCI" ]]; then
  buildah push --quiet "$IMAGE" "oci:$work/oci:image"
  OCI="$work/oci:image"
fi
[[ "$OCI" == *:* ]] || OCI="$OCI:${IMAGE##*:}"
umoci unpack --image "$OCI" "$work/bundle" >/dev/null
step "unpacked $OCI into a runc bundle in $(($(now_ms) - t)) ms ($(du -sh "$work/bundle/rootfs" | cut -f1) rootfs)"

# umoci's config.json carries the image's env, entrypoint and working directory; make it the
# container a Kubernetes node would run.
python3 - "$work/bundle/config.json" "$PORT" "$CAPS" "$(ulimit -Hn)" <<'PY'
import json, sys
path, port, caps, nofile = sys.argv[1], sys.argv[2], [c for c in sys.argv[3].split(",") if c], int(sys.argv[4])
spec = json.load(open(path))
process = spec["process"]
process["args"] = ["stratus", "serve", "--bind", "127.0.0.1", "--port", port, "--no-auth", "--data-dir", "/tmp/data"]
process["terminal"] = False
process["user"] = {"uid": 0, "gid": 0}
process["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
process["noNewPrivileges"] = False          # allowPrivilegeEscalation: true, as in the Deployment
# As containerd does: the runtime's own open-files limit (runc's default of 1024 is too few).
process["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile}]
spec["root"]["readonly"] = True             # readOnlyRootFilesystem: true
linux = spec.setdefault("linux", {})
# The host's network (so curl reaches 127.0.0.1:PORT); every other namespace stays private.
linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if ns["type"] != "network"]
# A writable /tmp, as the Deployment's emptyDir (the data directory is /tmp/data here).
spec["mounts"] = [m for m in spec.get("mounts", []) if m["destination"] != "/tmp"]
spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "mode=1777", "size=1g"]})
json.dump(spec, open(path, "w"), indent=2)
PY

# --- 2. start and wait for /healthz -----------------------------------------------------------
log="$work/serve.log"
t0=$(now_ms)
if ! runc run --detach --bundle "$work/bundle" "$name" </dev/null >"$log" 2>&1; then
  echo "error: runc run failed:" >&2
  cat "$log" >&2
  exit 1
fi
started=$(($(now_ms) - t0))
until curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz"; do
  if ! runc state "$name" 2>/dev/null | grep -q '"status": "running"'; then
    echo "error: the container stopped; its output:" >&2
    cat "$log" >&2
    exit 1
  fi
  if (($(now_ms) - t0 > 30000)); then echo "error: no /healthz after 30 s" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.01
done
ready=$(($(now_ms) - t0))
step "runc run returned after $started ms; /healthz answered $ready ms after runc run"
step "GET /healthz → $(curl -s -w ' (HTTP %{http_code})' "http://127.0.0.1:$PORT/healthz")"
step "GET /system/info →"
curl -s "http://127.0.0.1:$PORT/system/info" | python3 -m json.tool | sed 's/^/    /'
step "server output:"
sed 's/^/    /' "$log"

# --- 3. the sandbox, with only the Deployment's capabilities ---------------------------------
# A process function without an artifact runs its envProcess as a command of the image.
probe="echo uid=\$(id -u) gid=\$(id -g) groups=\$(id -G); echo pid1=\$(cat /proc/1/comm);"
probe+=" echo capeff=\$(grep CapEff /proc/self/status | cut -f2);"
probe+=" echo data-dir-entries=\$(ls -A /tmp/data 2>/dev/null | wc -l); echo root-writable=\$(touch /x 2>/dev/null && echo yes || echo no)"
body="$(python3 -c 'import json,sys; print(json.dumps({"service": "probe", "image": "probe:latest", "envProcess": "sh -c \"" + sys.argv[1] + "\""}))' "$probe")"
code="$(curl -s -o "$work/deploy.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$PORT/system/functions")"
[[ "$code" == 2* ]] || { echo "error: deploying the probe function: HTTP $code $(cat "$work/deploy.out")" >&2; exit 1; }
for _ in $(seq 1 100); do
  answer="$(curl -s -w '\n(HTTP %{http_code}, %{time_total} s)' -X POST "http://127.0.0.1:$PORT/function/probe")" && [[ "$answer" == *"HTTP 200"* ]] && break
  sleep 0.1
done
step "process function 'probe' (sh in the sandbox) answered:"
echo "$answer" | sed 's/^/    /'
if grep -q 'bubblewrap (bwrap) is not available' "$log"; then
  step "sandbox: NOT available with capabilities [$CAPS] (the server warned)"
else
  step "sandbox: bubblewrap available with capabilities [$CAPS]"
fi

# --- 4. SIGTERM, as Kubernetes sends after preStop ---------------------------------------------
t=$(now_ms)
runc kill "$name" TERM
while runc state "$name" 2>/dev/null | grep -q '"status": "running"'; do
  if (($(now_ms) - t > 40000)); then echo "error: still running 40 s after SIGTERM (terminationGracePeriodSeconds)" >&2; exit 1; fi
  sleep 0.01
done
step "SIGTERM → stopped in $(($(now_ms) - t)) ms; last output:"
tail -n 3 "$log" | sed 's/^/    /'
runc delete "$name"
