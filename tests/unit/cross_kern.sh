#!/bin/sh
# cross_kern.sh SRCDIR OUTDIR PROGRAM.c - build a standalone kernel test with the AArch64
# cross compiler and run it under qemu-aarch64 (Debian: gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross qemu-user). Exit 77 (skipped) when the tools are missing.
src=$1 out=$2 prog=$3
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  echo "skipped: aarch64-linux-gnu-gcc or qemu-aarch64 missing"
  exit 77
fi
exe="$out/$(basename "$prog" .c)"
aarch64-linux-gnu-gcc -O2 -std=c11 -Wall -Wextra -Werror -I"$src/runtime/kern" \
  -I"$src/tests/unit" -o "$exe" "$prog" -lm || exit 1
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$exe"
