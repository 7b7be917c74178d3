#!/usr/bin/env bash
# Assembles the Stratus runtime image (the same one the Containerfile builds) without a container
# engine or a registry: buildah on a Debian bookworm root filesystem made with debootstrap, plus
# the release binaries already built in .build/release (this script does not build them).
#
#   localhost/stratus:dev
#     layer 1  Debian bookworm minbase + bubblewrap, util-linux (setpriv, prlimit), libjpeg62-turbo,
#              libpng16-16, libsqlite3-0, ca-certificates, python3; security updates applied
#     layer 2  /usr/local/bin/stratus, stratus-launcher (debug info stripped, symbols kept for
#              backtraces); the Swift runtime libraries they link, in /usr/lib/swift/linux;
#              ONNX Runtime in /usr/local/lib/stratus/onnxruntime (STRATUS_ONNXRUNTIME points at it) and
#              Wasmtime in /usr/local/lib/stratus/wasmtime (STRATUS_WASMTIME);
#              the classifier model in /usr/local/share/stratus/models (unless --no-models)
#
# The rootfs is cached in .cache/image/ and the first layer as the image localhost/stratus-base,
# keyed by the package list and mirror: a second run only redoes layer 2 (seconds).
#
# Usage: scripts/build-image.sh [--no-models] [--tag NAME] [OCI_DIR]
#   OCI_DIR    also write the image to an OCI image layout there (`buildah push … oci:OCI_DIR:dev`)
# Env:   BUILD_DIR (default .build/release), MIRROR (default: the Debian mirror apt is set up with)
# Needs root (buildah's storage, debootstrap); installs buildah and debootstrap with apt if missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/.build/release}"
CACHE="$ROOT/.cache"
IMAGE_CACHE="$CACHE/image"
TAG="localhost/stratus:dev"
WITH_MODELS=1
OCI_DIR=""
while (($#)); do
  case "$1" in
    --no-models) WITH_MODELS=0 ;;
    --tag) TAG="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) OCI_DIR="$1" ;;
  esac
  shift
done

SUITE=bookworm
# What the running server needs from Debian, and why:
#   bubblewrap       the process-function sandbox (without it functions run unsandboxed)
#   util-linux       setpriv (switch functions to uid 65534) and prlimit (their rlimits); in minbase already
#   libjpeg62-turbo, libpng16-16   image decoding for the Wasm image host module
#   libsqlite3-0     linked by the binary (the embedded store, also on a PostgreSQL node)
#   ca-certificates  TLS to PostgreSQL, async-call callbacks and image registries
#   python3          the python3 and python3-http templates run on the image's interpreter
# Node (the `node` template) is left out: ~70 MB. A derived image can add it.
PACKAGES=bubblewrap,util-linux,libjpeg62-turbo,libpng16-16,libsqlite3-0,ca-certificates,python3

step() { printf '==> %s\n' "$*"; }
elapsed() { printf '%ds' $((SECONDS - ${1})); }
start_all=$SECONDS

[[ $EUID -eq 0 ]] || { echo "error: run as root (buildah storage and debootstrap need it)" >&2; exit 1; }
for tool in buildah:buildah debootstrap:debootstrap; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    step "installing ${tool##*:} (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool##*:}" >/dev/null
  fi
done
for binary in stratus stratus-launcher; do
  [[ -x "$BUILD_DIR/$binary" ]] || { echo "error: $BUILD_DIR/$binary is missing: run swift build -c release first" >&2; exit 1; }
done

# The Debian mirror apt already uses here (deb822 or one-line sources), else the default.
if [[ -z "${MIRROR:-}" ]]; then
  MIRROR="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE '(URIs:|^deb)[[:space:]]+[^[:space:]]+' | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  MIRROR="${MIRROR%/}"
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi
SECURITY_MIRROR="${SECURITY_MIRROR:-${MIRROR}-security}"

# --- 1. the Debian rootfs (cached) ----------------------------------------------------------
key="$(printf '%s\n' "$SUITE" "$PACKAGES" "$MIRROR" "v2" | sha256sum | cut -c1-12)"
rootfs="$IMAGE_CACHE/rootfs-$SUITE-$key"
if [[ ! -f "$rootfs/.complete" ]]; then
  t=$SECONDS
  step "debootstrap --variant=minbase $SUITE from $MIRROR into ${rootfs#"$ROOT"/} (once)"
  # A changed package list or mirror makes a new key: drop the root filesystems of older ones.
  rm -rf "$IMAGE_CACHE"/rootfs-"$SUITE"-*
  mkdir -p "$IMAGE_CACHE"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$IMAGE_CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$IMAGE_CACHE/debootstrap.log" >&2; exit 1; }
  # As debian:bookworm-slim does: packages installed later (in an image built on this one) leave
  # out documentation and translations too.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
  step "applying $SUITE-updates and $SUITE-security"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get upgrade -y -qq && apt-get clean' >>"$IMAGE_CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$IMAGE_CACHE/debootstrap.log" >&2; exit 1; }
  # What a server image never reads: package indexes, downloaded .debs, documentation (licences
  # kept), translations (33 MB), logs. Every path is under the checked, non-empty $rootfs.
  [[ "$rootfs" == "$IMAGE_CACHE"/rootfs-* && -d "$rootfs/usr/share" ]] || { echo "error: bad rootfs '$rootfs'" >&2; exit 1; }
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/* "$rootfs"/etc/resolv.conf
  touch "$rootfs/etc/resolv.conf"   # the runtime mounts the real one over it
  touch "$rootfs/.complete"
  step "rootfs ready in $(elapsed $t): $(du -sh --exclude=.complete "$rootfs" | cut -f1)"
else
  step "rootfs: ${rootfs#"$ROOT"/} (cached)"
fi

# --- 2. the base image (cached in buildah's storage) -----------------------------------------
BASE="localhost/stratus-base:$SUITE-$key"
if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  t=$SECONDS
  step "committing the rootfs as $BASE"
  ctr="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr")"
  tar -C "$rootfs" --exclude=./.complete -cf - . | tar -C "$mnt" -xf -
  buildah umount "$ctr" >/dev/null
  buildah commit --quiet --rm "$ctr" "$BASE" >/dev/null
  step "base image in $(elapsed $t)"
else
  step "base image: $BASE (cached)"
fi

# --- 3. Stratus on top ------------------------------------------------------------------------
t=$SECONDS
step "adding Stratus from ${BUILD_DIR#"$ROOT"/}"
ctr="$(buildah from --quiet "$BASE")"
cleanup() { buildah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
mnt="$(buildah mount "$ctr")"

install -d -m 0755 "$mnt/usr/local/bin" "$mnt/usr/lib/swift/linux" "$mnt/usr/local/lib/stratus" \
  "$mnt/var/lib/stratus" "$mnt/var/openfaas/secrets"
# Debug info out (126 MB → 47 MB for stratus); the symbol table stays, so crash backtraces name functions.
for binary in stratus stratus-launcher; do
  strip --strip-debug -o "$mnt/usr/local/bin/$binary" "$BUILD_DIR/$binary"
  chmod 0755 "$mnt/usr/local/bin/$binary"
done

# The Swift runtime: every library ldd resolves outside the system's own directories (the
# toolchain's /opt/swift/usr/lib/swift/linux here). Debian provides the rest (libc, libstdc++,
# zlib, sqlite, jpeg, png), from the packages above.
swift_libs=()
while read -r path; do
  case "$path" in /lib/* | /usr/lib/x86_64-linux-gnu/* | /usr/lib/aarch64-linux-gnu/* | /lib64/*) ;; *) swift_libs+=("$path") ;; esac
done < <(ldd "$BUILD_DIR/stratus" | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
cp -L "${swift_libs[@]}" "$mnt/usr/lib/swift/linux/"
echo /usr/lib/swift/linux >"$mnt/etc/ld.so.conf.d/swift.conf"
chroot "$mnt" /sbin/ldconfig
if missing="$(chroot "$mnt" /usr/bin/ldd /usr/local/bin/stratus | grep 'not found')"; then
  echo "error: libraries missing in the image:" >&2
  echo "$missing" >&2
  exit 1
fi
step "  ${#swift_libs[@]} Swift runtime libraries ($(du -ch "${swift_libs[@]}" | tail -n1 | cut -f1))"

onnx_env=()
if [[ -e "$CACHE/onnxruntime/lib/libonnxruntime.so" ]]; then
  cp -a "$CACHE/onnxruntime/lib" "$mnt/usr/local/lib/stratus/onnxruntime"
  onnx_env=(--env STRATUS_ONNXRUNTIME=/usr/local/lib/stratus/onnxruntime/libonnxruntime.so)
  step "  ONNX Runtime $(cat "$CACHE/onnxruntime/VERSION" 2>/dev/null)"
else
  step "  no .cache/onnxruntime (scripts/setup-models.sh): the image serves no inference"
fi
wasmtime_env=()
if [[ -s "$CACHE/wasmtime/lib/libwasmtime.so" ]]; then
  install -d "$mnt/usr/local/lib/stratus/wasmtime"
  cp -a "$CACHE/wasmtime/lib" "$CACHE/wasmtime/VERSION" "$mnt/usr/local/lib/stratus/wasmtime/"
  wasmtime_env=(--env STRATUS_WASMTIME=/usr/local/lib/stratus/wasmtime/lib/libwasmtime.so)
  step "  Wasmtime $(cat "$CACHE/wasmtime/VERSION" 2>/dev/null)"
else
  step "  no .cache/wasmtime (scripts/setup-models.sh): Wasm functions run on WasmKit"
fi
# The server never reads these by itself (a model reaches a function as an uploaded artifact);
# they are here so that a pod, or an image built on this one, can deploy the classifier demo.
if ((WITH_MODELS)) && [[ -s "$CACHE/models/efficientnet-lite0.onnx" ]]; then
  install -d "$mnt/usr/local/share/stratus/models"
  cp "$CACHE/models/efficientnet-lite0.onnx" "$CACHE/models/imagenet-labels.txt" "$mnt/usr/local/share/stratus/models/"
  step "  models: efficientnet-lite0.onnx, imagenet-labels.txt"
fi
content_size="$(du -sh "$mnt" | cut -f1)"
buildah umount "$ctr" >/dev/null

revision="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
buildah config \
  --entrypoint '["stratus"]' --cmd '["serve","--bind","0.0.0.0"]' --port 8080 \
  --env STRATUS_HOME=/var/lib/stratus "${onnx_env[@]}" "${wasmtime_env[@]}" \
  --workingdir / --stop-signal SIGTERM \
  --label org.opencontainers.image.title=stratus \
  --label org.opencontainers.image.description="Stratus: self-hosted serverless (stratus serve)" \
  --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.base.name="debian:$SUITE (debootstrap minbase)" \
  "$ctr"
previous="$(buildah inspect --type image --format '{{.FromImageID}}' "$TAG" 2>/dev/null || true)"
buildah commit --quiet --rm "$ctr" "$TAG" >/dev/null
trap - EXIT
# The image this tag named before is now unnamed: remove it (buildah refuses while it is in use).
current="$(buildah inspect --type image --format '{{.FromImageID}}' "$TAG")"
[[ -z "$previous" || "$previous" == "$current" ]] || buildah rmi "$previous" >/dev/null 2>&1 || true
step "committed $TAG in $(elapsed $t)"

if [[ -n "$OCI_DIR" ]]; then
  t=$SECONDS
  rm -rf "$OCI_DIR"
  buildah push --quiet "$TAG" "oci:$OCI_DIR:${TAG##*:}"
  step "pushed to oci:$OCI_DIR:${TAG##*:} in $(elapsed $t) ($(du -sh "$OCI_DIR" | cut -f1) on disk, layers gzip-compressed)"
fi

step "$TAG: $(buildah images --format '{{.Size}}' "$TAG" | head -n1) uncompressed ($content_size in the filesystem), built in $(elapsed $start_all)"
buildah inspect --type image --format '    entrypoint {{.OCIv1.Config.Entrypoint}} cmd {{.OCIv1.Config.Cmd}} ports {{.OCIv1.Config.ExposedPorts}}' "$TAG"
