#!/usr/bin/env python3
"""A small lit + FileCheck for effc's golden and diagnostic tests.

Each test file carries its own commands and expectations in comments:
  # RUN: effc opt %s            a shell command (bash, pipefail) run in a scratch directory;
                                %s = this file, %t = a scratch path, %S = this file's
                                directory; the built driver is first on PATH as `effc`.
                                Prefix `not` when the command must fail (non-zero exit);
                                `not-usage` when it must exit 2.
  # CHECK: text                 stdout must contain text, after the previous match
  # CHECK-NEXT: text            ... on the line right after the previous match
  # CHECK-NOT: text             ... not between the previous and the next match
  # CHECK-EMPTY:                the next line is empty
  # CHECK-ERR: text             stderr must contain text (in order)
  # expected-error {{msg}}      stderr must report `FILE:L:C: error: msg...` on this line
                                (expected-error@+N / @-N for another line; @C:col to fix
                                the column); every error reported must be expected.
  (same for expected-warning)
Exit status 0 when every file passes. Usage: lit.py EFFC FILE...
"""
import os
import re
import subprocess
import sys
import tempfile

EXPECT = re.compile(r'expected-(error|warning)(?:@([+-]\d+))?(?:@C:(\d+))?\s*\{\{(.*?)\}\}')
DIAG = re.compile(r'^(.*?):(\d+):(\d+): (error|warning): (.*)$')


def run_file(effc, path):
    lines = open(path, encoding='utf-8', errors='replace').read().split('\n')
    runs, checks, errchecks, expects = [], [], [], []
    for i, line in enumerate(lines, 1):
        m = re.search(r'#\s*RUN:\s*(.*)$', line)
        if m:
            runs.append(m.group(1))
        m = re.search(r'#\s*(CHECK|CHECK-NEXT|CHECK-NOT|CHECK-EMPTY):\s?(.*)$', line)
        if m:
            checks.append((m.group(1), m.group(2).rstrip()))
        m = re.search(r'#\s*CHECK-ERR:\s?(.*)$', line)
        if m:
            errchecks.append(m.group(1).rstrip())
        for m in EXPECT.finditer(line):
            target = i + int(m.group(2) or 0)
            expects.append((m.group(1), target, int(m.group(3)) if m.group(3) else None, m.group(4)))
    if not runs:
        return ['no RUN line']
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        out, err = '', ''
        for r in runs:
            cmd = r.replace('%s', path).replace('%S', os.path.dirname(path) or '.').replace('%t', os.path.join(tmp, 't'))
            want = 'ok'
            if cmd.startswith('not-usage '):
                want, cmd = 'usage', cmd[len('not-usage '):]
            elif cmd.startswith('not '):
                want, cmd = 'fail', cmd[4:]
            env = dict(os.environ, PATH=os.path.dirname(effc) + os.pathsep + os.environ.get('PATH', ''))
            p = subprocess.run(['bash', '-o', 'pipefail', '-c', cmd], capture_output=True, cwd=tmp, env=env)
            o, e = p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')
            out += o
            err += e
            if want == 'ok' and p.returncode != 0:
                failures.append(f'RUN `{r}` exited {p.returncode}:\n{e}')
            elif want == 'fail' and p.returncode == 0:
                failures.append(f'RUN `{r}` succeeded but should fail')
            elif want == 'usage' and p.returncode != 2:
                failures.append(f'RUN `{r}` exited {p.returncode}, want 2 (usage):\n{e}')
            if p.returncode >= 3 or p.returncode < 0:
                failures.append(f'RUN `{r}` crashed or hit an internal error ({p.returncode}):\n{e}')
    failures += filecheck(out.split('\n'), checks, 'stdout')
    failures += filecheck(err.split('\n'), [('CHECK', c) for c in errchecks], 'stderr')
    if expects:
        failures += verify_diags(path, err, expects)
    return failures


def filecheck(lines, checks, what):
    failures, pos, pending_not = [], 0, []
    for kind, text in checks:
        if kind == 'CHECK-NOT':
            pending_not.append(text)
            continue
        if kind in ('CHECK-NEXT', 'CHECK-EMPTY'):
            ok = pos < len(lines) and (lines[pos] == '' if kind == 'CHECK-EMPTY' else text in lines[pos])
            if not ok:
                got = lines[pos] if pos < len(lines) else '<end>'
                failures.append(f'{what}: {kind}: {text!r} not on the next line (got {got!r})')
                return failures
            pos += 1
            continue
        for j in range(pos, len(lines)):
            if text in lines[j]:
                for n in pending_not:
                    for k in range(pos, j):
                        if n in lines[k]:
                            failures.append(f'{what}: CHECK-NOT: {n!r} found: {lines[k]!r}')
                pending_not, pos = [], j + 1
                break
        else:
            failures.append(f'{what}: CHECK: {text!r} not found after line {pos}')
            return failures
    for n in pending_not:
        for k in range(pos, len(lines)):
            if n in lines[k]:
                failures.append(f'{what}: CHECK-NOT: {n!r} found: {lines[k]!r}')
    return failures


def verify_diags(path, err, expects):
    failures = []
    got = []
    for line in err.split('\n'):
        m = DIAG.match(line)
        if m and os.path.basename(m.group(1)) == os.path.basename(path):
            got.append((m.group(4), int(m.group(2)), int(m.group(3)), m.group(5)))
    used = set()
    for kind, ln, col, msg in expects:
        for idx, (k, l, c, text) in enumerate(got):
            if idx not in used and k == kind and l == ln and (col is None or c == col) and msg in text:
                used.add(idx)
                break
        else:
            failures.append(f'expected {kind} at line {ln}{":" + str(col) if col else ""} {{{{{msg}}}}} not reported')
    for idx, (k, l, c, text) in enumerate(got):
        if idx not in used and k == 'error':
            failures.append(f'unexpected error at {l}:{c}: {text}')
    return failures


def main():
    effc, files = sys.argv[1], sys.argv[2:]
    bad = 0
    for f in files:
        fails = run_file(os.path.abspath(effc), os.path.abspath(f))
        if fails:
            bad += 1
            print(f'FAIL {f}')
            for x in fails:
                print('  ' + x.replace('\n', '\n    '))
        else:
            print(f'PASS {f}')
    print(f'{len(files) - bad} of {len(files)} passed')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
