#!/usr/bin/env bash
# Test dependencies from PyPI into .cache/ (git-ignored):
#
#   .cache/lambda-ric/python/   AWS's own Lambda runtime interface client (awslambdaric), the
#                               unmodified client the custom-runtime tests run against Stratus's
#                               Lambda Runtime API; published there as a layer (it appears at /opt/python).
#   .cache/schemathesis/        schemathesis, the API fuzzer the tests drive from docs/openapi.yaml
#                               (PYTHONPATH=.cache/schemathesis python3 -m schemathesis.cli).
#
# Installed for the interpreter functions run with (/usr/bin/python3, else python3). Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="$ROOT/.cache/lambda-ric/python"
RIC_VERSION=4.2.2
SCHEMATHESIS_VERSION=4.32.5
PYTHON=python3
if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -m pip --version >/dev/null 2>&1; then PYTHON=/usr/bin/python3; fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1

install() { # target version requirement
  if [[ -f "$1/.version" && "$(cat "$1/.version")" == "$2" ]]; then
    echo "    (exists, skipped) $1"
    return
  fi
  echo "==> $3 into $1"
  rm -rf "$1"
  "$PYTHON" -m pip install --quiet --only-binary=:all: --target "$1" "$3"
  echo "$2" > "$1/.version"
}
install "$TARGET" "$RIC_VERSION" "awslambdaric==$RIC_VERSION"
install "$ROOT/.cache/schemathesis" "$SCHEMATHESIS_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
