#!/usr/bin/env bash
# Test dependencies from PyPI into .cache/ (git-ignored):
#
#   .cache/lambda-ric/python/   AWS's own Lambda runtime interface client (awslambdaric), the
#                               unmodified client the custom-runtime tests run against Stratus's
#                               Lambda Runtime API; published there as a layer (it appears at /opt/python).
#
# Installed for the interpreter functions run with (/usr/bin/python3, else python3). Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="$ROOT/.cache/lambda-ric/python"
RIC_VERSION=4.2.2
PYTHON=python3
if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -m pip --version >/dev/null 2>&1; then PYTHON=/usr/bin/python3; fi
if [[ -f "$TARGET/.version" && "$(cat "$TARGET/.version")" == "$RIC_VERSION" ]]; then
  echo "    (exists, skipped) $TARGET"
  exit 0
fi
echo "==> awslambdaric $RIC_VERSION into $TARGET"
rm -rf "$TARGET"
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 \
  "$PYTHON" -m pip install --quiet --only-binary=:all: --target "$TARGET" "awslambdaric==$RIC_VERSION"
echo "$RIC_VERSION" > "$TARGET/.version"
