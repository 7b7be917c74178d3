#!/usr/bin/env bash
# Compiles every guest fixture in this folder (*.c) to OUTDIR/<name>.wasm with the c-wasm recipe:
#   clang --target=wasm32-wasi --sysroot=/usr -resource-dir <clang resource dir> -O2 NAME.c -o NAME.wasm
# Needs: a clang with the wasm32 target (the swift.org toolchain's), apt-get install -y wasi-libc
# libclang-rt-14-dev-wasm32. Overrides: CLANG=/path/to/clang, WASI_SYSROOT=/path (default /usr).
set -euo pipefail

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)

clang=${CLANG:-}
if [ -z "$clang" ]; then
    for candidate in /opt/swift/usr/bin/clang "$(command -v clang || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then clang=$candidate; break; fi
    done
fi
[ -n "$clang" ] || { echo "build.sh: clang not found (install the swift.org toolchain or set CLANG)" >&2; exit 1; }

sysroot=${WASI_SYSROOT:-/usr}
if [ ! -f "$sysroot/lib/wasm32-wasi/libc.a" ]; then
    echo "build.sh: wasi-libc not found in $sysroot/lib/wasm32-wasi: apt-get install -y wasi-libc" >&2
    exit 1
fi

builtins=$(ls -d /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$builtins" ]; then
    echo "build.sh: libclang_rt.builtins-wasm32.a not found: apt-get install -y libclang-rt-14-dev-wasm32" >&2
    exit 1
fi
resource=${builtins%/lib/wasi/libclang_rt.builtins-wasm32.a}

mkdir -p "$out"
for source in "$here"/*.c; do
    name=$(basename "$source" .c)
    "$clang" --target=wasm32-wasi --sysroot="$sysroot" -resource-dir "$resource" -O2 "$source" -o "$out/$name.wasm"
    echo "$out/$name.wasm"
done
