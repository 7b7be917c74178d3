#!/usr/bin/env bash
# Renders deploy/kubernetes (the base and every overlay) with `kubectl kustomize` and validates
# every rendered object against named Kubernetes versions' schemas with kubernetes-validate, in
# strict mode (unknown fields are errors). Offline apart from installing kubernetes-validate from
# PyPI once when it is not on PATH. No cluster is needed, and none is contacted.
#
# Also checks what no schema can: the base holds no Secret, the dev key is exactly 32 bytes.
#
# Usage: scripts/check-kubernetes.sh
# Env:   KUBERNETES_VERSIONS  versions to validate against (default "1.30.0 1.37.0": the oldest the
#                             manifests support — securityContext.appArmorProfile is 1.30 — and the
#                             newest kubernetes-validate 1.37.0 knows)
#        KUBECTL              kubectl to render with (default kubectl; 1.32 ships kustomize 5.5)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy/kubernetes"
KUBECTL="${KUBECTL:-kubectl}"
VALIDATOR_VERSION=1.37.0
read -r -a VERSIONS <<<"${KUBERNETES_VERSIONS:-1.30.0 1.37.0}"

validate=(kubernetes-validate)
if ! command -v kubernetes-validate >/dev/null; then
  echo "==> installing kubernetes-validate==$VALIDATOR_VERSION (pip)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    python3 -m pip install -q --break-system-packages "kubernetes-validate==$VALIDATOR_VERSION"
  hash -r
  # pip's script directory may not be on PATH (e.g. ~/.local/bin): run the module instead.
  command -v kubernetes-validate >/dev/null || validate=(python3 -m kubernetes_validate)
fi
command -v "$KUBECTL" >/dev/null || { echo "error: $KUBECTL not found" >&2; exit 1; }
echo "==> $("$KUBECTL" version --client 2>/dev/null | head -n2 | paste -sd' ' -), kubernetes-validate $("${validate[@]}" --version)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=()
fail() { failures+=("$1"); echo "FAIL: $1" >&2; }

dirs=("$DEPLOY/base")
for overlay in "$DEPLOY"/overlays/*/; do dirs+=("${overlay%/}"); done

for dir in "${dirs[@]}"; do
  name="${dir#"$DEPLOY"/}"
  rendered="$work/${name//\//_}.yaml"
  if ! "$KUBECTL" kustomize "$dir" >"$rendered" 2>"$work/err"; then
    fail "$name: kubectl kustomize failed: $(cat "$work/err")"
    continue
  fi
  kinds="$(grep -E '^kind: ' "$rendered" | sed 's/^kind: //' | sort | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}')"
  echo "==> $name: $(grep -c '^kind: ' "$rendered") objects ($kinds)"
  for version in "${VERSIONS[@]}"; do
    # --quiet prints only warnings and failures; the exit status says whether all passed.
    if output="$("${validate[@]}" --strict --quiet -k "$version" "$rendered" 2>&1)"; then
      echo "    valid against Kubernetes $version (strict)"
      [[ -z "$output" ]] || echo "${output//"$rendered"/$name}" | sed 's/^/    /'   # warnings
    else
      fail "$name against Kubernetes $version:"$'\n'"${output//"$rendered"/$name}"
    fi
  done
done

# The base must reference Secrets, never carry them.
if grep -qE '^kind: Secret$' "$work/base.yaml" 2>/dev/null; then
  fail "base: renders a Secret; secrets belong in an overlay or are created by the operator"
fi
# Stratus rejects a key that is not exactly 32 bytes (a trailing newline makes 33).
key="$DEPLOY/overlays/dev/dev-only-secrets/key"
if [[ -f "$key" ]]; then
  size="$(wc -c <"$key")"
  if [[ "$size" -eq 32 ]]; then echo "==> overlays/dev: dev key is 32 bytes"; else fail "overlays/dev: $key is $size bytes, not 32"; fi
fi

if ((${#failures[@]})); then
  echo "==> ${#failures[@]} check(s) failed:" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "==> all Kubernetes manifests are valid"
