#!/usr/bin/env python3
"""Cross-compile test_kern_qgemm.c for AArch64 with dot-product instructions (NEON sdot)
and run it under qemu-aarch64. Exit 77 (skipped) without the cross toolchain or qemu.
Usage: run_qemu_qgemm.py SOURCE_ROOT WORK_DIR"""
import os
import shutil
import subprocess
import sys

root, work = sys.argv[1], sys.argv[2]
cc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
if not cc or not qemu:
    print("skipped: aarch64-linux-gnu-gcc or qemu-aarch64 not installed")
    sys.exit(77)
os.makedirs(work, exist_ok=True)
exe = os.path.join(work, "test_kern_qgemm_aarch64")
kern = os.path.join(root, "runtime", "kern")
cmd = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-march=armv8.2-a+dotprod",
       "-DEFFC_KERN_RUNTIME", "-I" + kern, os.path.join(root, "tests", "unit", "test_kern_qgemm.c"),
       os.path.join(kern, "isa.c"), os.path.join(kern, "qgemm.c"), "-lm", "-o", exe]
subprocess.run(cmd, check=True)
r = subprocess.run([qemu, "-L", "/usr/aarch64-linux-gnu", exe], timeout=120,
                   stdout=subprocess.PIPE, universal_newlines=True)
print(r.stdout, end="")
if r.returncode != 0 or "isa 3 done" not in r.stdout:
    print("FAIL: the NEON (isa 3) run did not pass")
    sys.exit(1)
