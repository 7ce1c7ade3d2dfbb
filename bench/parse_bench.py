#!/usr/bin/env python3
"""Front-end benchmark: effc parse + verify + print against onnx.parser.parse_model.

For each size (default 100k, 1M, 4M nodes) it generates the text once (gen_graph.py), then
times, side by side on this machine, best of R runs each:
  effc:  `effc opt FILE --no-type-check -o /dev/null` (read, parse, verify structure and
         schemas, print; process start included; onnx.parser infers no types either)
  onnx:  onnx.parser.parse_model(text) in-process (parse only: text already in memory)
and reports seconds, nodes/s, peak RSS and the ratio onnx/effc (> 1: effc is faster).
Run with Debian's python (it has onnx): /usr/bin/python3 bench/parse_bench.py build/driver/effc
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def time_effc(effc, path, runs):
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([effc, 'opt', path, '--no-type-check', '-o', '/dev/null'], check=True)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return best, rss


def time_onnx(path, runs):
    # a child process per size, so peak RSS is per size too
    code = r'''
import sys, time, resource, onnx, onnx.parser
text = open(sys.argv[1]).read()
best = None
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); m = onnx.parser.parse_model(text); dt = time.perf_counter() - t
    assert len(m.graph.node) > 0
    best = dt if best is None else min(best, dt)
    del m
print(best, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
'''
    out = subprocess.run(['/usr/bin/python3', '-c', code, path, str(runs)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('effc')
    ap.add_argument('--sizes', default='100000,1000000,4000000')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--no-onnx', action='store_true', help='time effc only')
    a = ap.parse_args()
    print(f'{"nodes":>9} {"MB":>6} {"effc s":>8} {"effc Mnode/s":>12} {"effc MB RSS":>11} '
          f'{"onnx s":>8} {"onnx MB RSS":>11} {"onnx/effc":>9}')
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in a.sizes.split(',')]:
            path = os.path.join(tmp, f'g{n}.onnxtxt')
            subprocess.run([sys.executable, os.path.join(HERE, 'gen_graph.py'), str(n), path], check=True)
            mb = os.path.getsize(path) / 1e6
            # effc in its own child per size for a per-size RSS
            code = f'import sys; sys.path.insert(0, {HERE!r}); import parse_bench as b; print(*b.time_effc({a.effc!r}, {path!r}, {a.runs}))'
            te, re_ = map(float, subprocess.run([sys.executable, '-c', code], check=True,
                                                capture_output=True, text=True).stdout.split())
            if a.no_onnx:
                print(f'{n:>9} {mb:>6.1f} {te:>8.3f} {n / te / 1e6:>12.2f} {re_:>11.0f}')
                continue
            to, ro = time_onnx(path, a.runs)
            print(f'{n:>9} {mb:>6.1f} {te:>8.3f} {n / te / 1e6:>12.2f} {re_:>11.0f} '
                  f'{to:>8.3f} {ro:>11.0f} {to / te:>9.2f}')
            os.remove(path)


if __name__ == '__main__':
    main()
