#!/usr/bin/env python3
"""run_bench.py - effc's compiled C against ONNX Runtime on the same models, inputs and thread
counts (bench/README in docs/benchmarks.md). Plain python3, no numpy.

    python3 bench/run_bench.py [--threads 1,2] [--runs 30] [--rounds 3] [--int8] [MODEL ...]

For each model (bench/gen_models.py makes them, with /usr/bin/python3 and torch, if missing):
`effc import`, then per thread count `effc compile --target native --threads T --emit-main`,
`cc -O2`, one run of the program and of ORT on the same .npy input with their outputs compared
(|effc - ort| <= 1e-3 |ort| + 1e-4 max|ort|, elementwise), then ROUNDS rounds that alternate
`prog --bench RUNS` and `ort_bench --runs RUNS` (each warms up first). A model's latency is the
median of its rounds' medians. Prints a markdown table (effc ms, ORT ms, effc/ORT per thread
count, geometric means over the models both ran) and, per model, what effc could not compile.
Exit status: 0, or 1 when an output mismatched (or nothing could be measured).

With --int8 it measures effc against itself instead (no ORT): each model is quantized by effc
(`identity-elim,fold,quantize{data=X},qdq-fuse,dce`: static INT8 calibrated on the model's own
input, lowered to integer operators), both the fp32 and the INT8 graph are compiled the same way,
the INT8 program's outputs must equal `effc run` of the INT8 graph byte for byte (exit 1 if not),
its agreement with fp32 is reported (SQNR of the outputs, same top-1), and ROUNDS rounds alternate
the two programs. The table shows fp32 ms, INT8 ms and the speed-up fp32/INT8 per thread count.

ONNX Runtime comes from npm: `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` into
--ort-dir (installed there when missing); bench/ort_bench.c is built against its
libonnxruntime.so.1."""
import argparse
import array
import math
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ["mobilenet_v2", "mobilenet_v3_small", "resnet18", "resnet50", "squeezenet1_1",
          "shufflenet_v2_x1_0", "efficientnet_b0", "mnasnet1_0", "transformer_encoder",
          "gpt_decoder"]
ORT_LIB = "node_modules/onnxruntime-node/bin/napi-v6/linux/x64"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout=None, env=None):
    """(returncode, stdout, stderr); a timeout counts as a failure."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {timeout} s: {' '.join(cmd)}"


# ------------------------------------------------------------------ .npy without numpy

NPY_CODES = {"<f4": "f", "<f8": "d", "<i8": "q", "<i4": "i", "|i1": "b", "|u1": "B", "|b1": "B"}


def read_npy(path):
    """(descr, shape, values as an array.array)"""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    if data[6] == 1:
        hl, start = int.from_bytes(data[8:10], "little"), 10
    else:
        hl, start = int.from_bytes(data[8:12], "little"), 12
    header = data[start:start + hl].decode("latin1")
    descr = re.search(r"'descr':\s*'([^']+)'", header).group(1)
    shape = tuple(int(d) for d in re.findall(r"\d+", re.search(r"'shape':\s*\(([^)]*)\)", header).group(1)))
    if descr not in NPY_CODES or "'fortran_order': True" in header:
        raise ValueError(f"{path}: unsupported array ({descr})")
    values = array.array(NPY_CODES[descr])
    values.frombytes(data[start + hl:])
    return descr, shape, values


def compare(got_path, want_path):
    """None when they agree, else the reason."""
    gd, gs, g = read_npy(got_path)
    wd, ws, w = read_npy(want_path)
    if gs != ws or len(g) != len(w):
        return f"shape {gs} vs ORT's {ws}"
    if gd != wd:
        return f"dtype {gd} vs ORT's {wd}"
    if gd in ("<f4", "<f8"):
        scale = max((abs(x) for x in w), default=0.0)
        worst, at = 0.0, -1
        for i, (a, b) in enumerate(zip(g, w)):
            err = abs(a - b) - (1e-3 * abs(b) + 1e-4 * scale)
            if not err <= 0 and (err > worst or at < 0):  # NaN counts as a mismatch
                worst, at = err, i
        if at >= 0:
            return f"element {at}: {g[at]} vs ORT's {w[at]} (max |ort| {scale:g})"
        return None
    bad = [i for i, (a, b) in enumerate(zip(g, w)) if a != b]
    return f"{len(bad)} elements differ (first {bad[0]})" if bad else None


def enc(name):
    """`effc run`'s output file name for a graph output."""
    out = []
    for i, c in enumerate(name.encode()):
        ch = chr(c)
        plain = ch.isascii() and (ch.isalnum() or ch in "_-" or (ch == "." and i > 0))
        out.append(ch if plain else f"%{c:02X}")
    return "".join(out)


# ------------------------------------------------------------------ setup

def ensure_ort(ort_dir, work):
    lib = os.path.join(ort_dir, ORT_LIB)
    if not os.path.exists(os.path.join(lib, "libonnxruntime.so.1")):
        log(f"installing onnxruntime-node into {ort_dir}")
        os.makedirs(ort_dir, exist_ok=True)
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        if not os.path.exists(os.path.join(ort_dir, "package.json")):
            subprocess.run(["npm", "init", "-y"], cwd=ort_dir, capture_output=True, env=env)
        p = subprocess.run(["npm", "install", "onnxruntime-node"], cwd=ort_dir, env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"npm install onnxruntime-node failed:\n{p.stderr}")
    lib = os.path.abspath(lib)
    exe = os.path.join(work, "ort_bench")
    src = os.path.join(HERE, "ort_bench.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        rc, _, err = run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", src, "-o", exe, f"-L{lib}",
                          "-l:libonnxruntime.so.1", f"-Wl,-rpath,{lib}"])
        if rc != 0:
            sys.exit(f"building ort_bench failed:\n{err}")
    return exe


def ensure_models(models_dir, names):
    missing = [n for n in names if not os.path.exists(os.path.join(models_dir, n + ".onnx"))]
    if missing:
        log(f"generating {', '.join(missing)} into {models_dir} (torch, random weights)")
        p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_models.py"), models_dir] + missing)
        if p.returncode != 0:
            sys.exit("gen_models.py failed")


def parse_times(text):
    """(median, min) in ms from `prog --bench` / ort_bench output."""
    med = re.search(r"median[^0-9]*([0-9.]+)", text)
    mn = re.search(r"\bmin(?:imum)?[^0-9]*([0-9.]+)", text)
    if not med:
        return None
    return float(med.group(1)), float(mn.group(1)) if mn else float(med.group(1))


def unsupported_ops(err):
    """The operators effc's errors name (`node 'n' (ai.onnx Concat-13, opset 17): ...`) with
    their counts, else the first error line."""
    found = re.findall(r"\(([A-Za-z0-9_.]+) ([A-Za-z0-9_]+)-\d+, opset \d+\)", err)
    if found:
        counts = {}
        for dom, op in found:
            key = op if dom in ("ai.onnx", "") else f"{dom}.{op}"
            counts[key] = counts.get(key, 0) + 1
        return "no kernel for " + ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(counts.items()))
    lines = [ln for ln in err.splitlines() if "error" in ln]
    return (lines[0] if lines else err.strip().splitlines()[0] if err.strip() else "failed")[:300]


# ------------------------------------------------------------------ INT8 against fp32

INT8_PIPELINE = "identity-elim,fold,quantize{{data={x}}},qdq-fuse,dce"


def sqnr_top1(got_path, ref_path):
    """(SQNR dB of got against ref, same argmax) for two float outputs."""
    _, _, g = read_npy(got_path)
    _, _, r = read_npy(ref_path)
    sig = sum(v * v for v in r)
    err = sum((a - b) ** 2 for a, b in zip(g, r))
    db = float("inf") if err == 0 else 10 * math.log10(sig / err) if sig > 0 else float("-inf")
    return db, max(range(len(g)), key=g.__getitem__) == max(range(len(r)), key=r.__getitem__)


def build(a, model, d, t):
    """Compile model for a.target with t threads into d and build d/prog; None or the reason."""
    shutil.rmtree(d, ignore_errors=True)
    rc, _, err = run([a.effc, "compile", model, "--target", a.target, "--threads", str(t), "--emit-main",
                      "--output-dir", d])
    if rc != 0:
        return "effc compile: " + unsupported_ops(err)
    srcs = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".c"))
    rc, _, err = run(["cc", "-O2", "-std=c11"] + srcs + ["-o", os.path.join(d, "prog"), "-lm", "-lpthread"])
    return None if rc == 0 else "cc failed: " + err.strip().splitlines()[0][:200]


def main_int8(a, names, threads):
    results, notes, bad = {}, {}, False
    for name in names:
        onnx = os.path.join(a.models_dir, name + ".onnx")
        x = os.path.join(a.models_dir, name + "_x.npy")
        txt = os.path.join(a.work, name + ".onnxtxt")
        q = os.path.join(a.work, name + "-int8.onnxtxt")
        rc, _, err = run([a.effc, "import", onnx, "-o", txt])
        if rc == 0:
            rc, _, err = run([a.effc, "opt", txt, "-p", INT8_PIPELINE.format(x=x), "-o", q])
        if rc != 0:
            notes[name] = "import / quantize failed: " + unsupported_ops(err)
            continue
        ref = os.path.join(a.work, name + "-int8-interp")
        rc, _, err = run([a.effc, "run", q, "--input", f"x={x}", "--output-dir", ref], timeout=a.timeout)
        if rc != 0:
            notes[name] = "effc run (INT8) failed: " + err.strip()[:200]
            continue
        for t in threads:
            progs = {}
            for kind, model in (("fp32", txt), ("int8", q)):
                d = os.path.join(a.work, f"{name}-{kind}-t{t}")
                why = build(a, model, d, t)
                if why:
                    notes[name] = f"{kind}: {why}"
                    break
                out = os.path.join(d, "out")
                rc, _, err = run([os.path.join(d, "prog"), "--input", f"x={x}", "--output-dir", out],
                                 timeout=a.timeout)
                if rc != 0:
                    notes[name] = f"{kind} run failed: {err.strip()[:200]}"
                    break
                progs[kind] = (os.path.join(d, "prog"), out)
            if len(progs) < 2:
                break
            for f in sorted(os.listdir(ref)):
                with open(os.path.join(ref, f), "rb") as r1, open(os.path.join(progs["int8"][1], f), "rb") as r2:
                    if r1.read() != r2.read():
                        bad = True
                        notes[name] = f"MISMATCH: compiled INT8 {f} differs from the interpreter's ({t} threads)"
                        log(f"{name}: {notes[name]}")
                db, same = sqnr_top1(os.path.join(progs["int8"][1], f), os.path.join(progs["fp32"][1], f))
                notes.setdefault(name + "/acc", f"{f}: SQNR {db:.1f} dB against fp32, top-1 {'same' if same else 'differs'}")
            ms = {"fp32": [], "int8": []}
            for _ in range(a.rounds):
                for kind in ("fp32", "int8"):
                    rc, out, err = run([progs[kind][0], "--bench", str(a.runs), "--input", f"x={x}"], timeout=a.timeout)
                    tm = parse_times(out + err) if rc == 0 else None
                    if tm:
                        ms[kind].append(tm[0])
            if len(ms["fp32"]) == a.rounds and len(ms["int8"]) == a.rounds:
                med = lambda v: sorted(v)[len(v) // 2]
                results[(name, t)] = (med(ms["fp32"]), med(ms["int8"]))
                log(f"{name} x{t}: fp32 {results[(name, t)][0]:.2f} ms, int8 {results[(name, t)][1]:.2f} ms")
    print("| model |" + "".join(f" fp32 ms ({t}T) | INT8 ms ({t}T) | speed-up ({t}T) |" for t in threads))
    print("|---|" + "---|---|---|" * len(threads))
    logs = {t: [] for t in threads}
    for name in names:
        row = f"| {name} |"
        for t in threads:
            r = results.get((name, t))
            if r:
                logs[t].append(math.log(r[0] / r[1]))
                row += f" {r[0]:.2f} | {r[1]:.2f} | {r[0] / r[1]:.2f} |"
            else:
                row += " - | - | - |"
        print(row)
    print("| geometric mean |" + "".join(
        f" | | {math.exp(sum(v) / len(v)):.2f} ({len(v)} models) |" if v else " | | - |" for v in logs.values()))
    print()
    for name in names:
        for key in (name, name + "/acc"):
            if key in notes:
                print(f"- {name}: {notes[key]}")
    print(f"\n(median of {a.rounds} rounds x {a.runs} runs after warm-up, fp32 and INT8 interleaved; "
          f"effc --target {a.target}; compiled INT8 outputs byte-equal to `effc run`)")
    if bad or not results:
        sys.exit(1)


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help="subset of: " + " ".join(MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per round and side (>= 30)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--effc", default=os.path.join(ROOT, "build", "driver", "effc"))
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "build", "bench-models"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench-work"))
    ap.add_argument("--ort-dir", default=os.path.join(ROOT, "build", "ort-npm"))
    ap.add_argument("--target", default="native")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per program run")
    ap.add_argument("--int8", action="store_true", help="effc INT8 (quantize, qdq-fuse) against effc fp32")
    a = ap.parse_args()
    names = a.models or MODELS
    for n in names:
        if n not in MODELS:
            sys.exit(f"unknown model {n} (one of {' '.join(MODELS)})")
    threads = [int(t) for t in a.threads.split(",")]
    os.makedirs(a.work, exist_ok=True)
    ensure_models(a.models_dir, names)
    if a.int8:
        main_int8(a, names, threads)
        return
    ort = ensure_ort(a.ort_dir, a.work)

    results = {}  # (model, threads) -> (effc ms, ort ms) | None
    notes, mismatch = {}, False
    for name in names:
        onnx = os.path.join(a.models_dir, name + ".onnx")
        x = os.path.join(a.models_dir, name + "_x.npy")
        txt = os.path.join(a.work, name + ".onnxtxt")
        rc, _, err = run([a.effc, "import", onnx, "-o", txt])
        if rc != 0:
            notes[name] = "import failed: " + unsupported_ops(err)
            continue
        for t in threads:
            d = os.path.join(a.work, f"{name}-t{t}")
            shutil.rmtree(d, ignore_errors=True)
            rc, out, err = run([a.effc, "compile", txt, "--target", a.target, "--threads", str(t),
                                "--emit-main", "--output-dir", d])
            if rc != 0:
                notes[name] = "effc compile: " + unsupported_ops(err)
                log(f"{name}: effc compile failed:\n{err.strip()}")
                break
            srcs = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".c"))
            prog = os.path.join(d, "prog")
            rc, _, err = run(["cc", "-O2", "-std=c11"] + srcs + ["-o", prog, "-lm", "-lpthread"])
            if rc != 0:
                notes[name] = "cc failed: " + err.strip().splitlines()[0][:200]
                log(f"{name}: cc failed:\n{err}")
                break
            # correctness: one run each on the same input
            eo, oo = os.path.join(d, "effc-out"), os.path.join(d, "ort-out")
            os.makedirs(eo, exist_ok=True)
            os.makedirs(oo, exist_ok=True)
            rc, _, err = run([prog, "--input", f"x={x}", "--output-dir", eo], timeout=a.timeout)
            rc2, _, err2 = run([ort, onnx, "--input", f"x={x}", "--threads", str(t), "--runs", "1",
                                "--warmup", "0", "--output-dir", oo], timeout=a.timeout)
            if rc != 0 or rc2 != 0:
                notes[name] = f"run failed: {(err if rc else err2).strip()[:200]}"
                break
            for f in sorted(os.listdir(oo)):
                why = compare(os.path.join(eo, f), os.path.join(oo, f)) if os.path.exists(os.path.join(eo, f)) \
                    else "missing from effc's outputs"
                if why:
                    mismatch = True
                    notes[name] = f"MISMATCH ({t} thread{'s' if t > 1 else ''}) {f}: {why}"
                    log(f"{name}: {notes[name]}")
            # latency: rounds alternating the two
            em, om = [], []
            for _ in range(a.rounds):
                rc, out, err = run([prog, "--bench", str(a.runs), "--input", f"x={x}"], timeout=a.timeout)
                te = parse_times(out + err) if rc == 0 else None
                rc2, out2, err2 = run([ort, onnx, "--input", f"x={x}", "--threads", str(t), "--runs",
                                       str(a.runs)], timeout=a.timeout)
                to = parse_times(out2) if rc2 == 0 else None
                if not te or not to:
                    notes[name] = "bench failed: " + ((err if not te else err2).strip() or "no timing printed")[:200]
                    break
                em.append(te)
                om.append(to)
            if len(em) == a.rounds:
                med = lambda v: sorted(v)[len(v) // 2]
                results[(name, t)] = (med([m for m, _ in em]), med([m for m, _ in om]),
                                      min(m for _, m in em), min(m for _, m in om))
                log(f"{name} x{t}: effc {results[(name, t)][0]:.2f} ms, ORT {results[(name, t)][1]:.2f} ms")

    # the table
    head = "| model |" + "".join(f" effc ms ({t}T) | ORT ms ({t}T) | effc/ORT ({t}T) |" for t in threads)
    print(head)
    print("|---|" + "---|---|---|" * len(threads))
    logs = {t: [] for t in threads}
    for name in names:
        row = f"| {name} |"
        for t in threads:
            r = results.get((name, t))
            if r:
                ratio = r[0] / r[1]
                logs[t].append(math.log(ratio))
                row += f" {r[0]:.2f} | {r[1]:.2f} | {ratio:.2f} |"
            else:
                row += " - | - | - |"
        print(row)
    row = "| geometric mean |"
    for t in threads:
        g = f"{math.exp(sum(logs[t]) / len(logs[t])):.2f} ({len(logs[t])} models)" if logs[t] else "-"
        row += f" | | {g} |"
    print(row)
    if notes:
        print("\nnot measured or not matching:\n")
        for name in names:
            if name in notes:
                print(f"- {name}: {notes[name]}")
    print(f"\n(median of {a.rounds} rounds x {a.runs} runs after warm-up, interleaved; "
          f"effc --target {a.target}; ORT intra-op threads = T, sequential)")
    if mismatch or not results:
        sys.exit(1)


if __name__ == "__main__":
    main()
