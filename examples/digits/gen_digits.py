#!/usr/bin/env python3
"""Generates examples/digits/: two small classifiers of sklearn's bundled 8x8 digits (the UCI
optical digits test set, 1797 images, load_digits() works offline), the data to evaluate and
calibrate them, and their accuracy as torch measures it (the independent reference for
`effc eval` and the compression passes).

Run from the repo root after building effc:
    /usr/bin/python3 examples/digits/gen_digits.py [--effc build/driver/effc]
Needs Debian's python3-torch (1.13), python3-sklearn, python3-onnx, numpy.

Split (fixed): pixels / 16 -> [0, 1]; sklearn train_test_split(test_size=0.3, stratify=y,
random_state=0) -> 1257 train, 540 test images. calib_x = the first 200 training images after
a numpy default_rng(1) permutation. Training: torch.manual_seed(0), Adam.

Outputs: cnn.onnxtxt/.safetensors, mlp.onnxtxt/.safetensors (input x: float[N,1,8,8], output
logits: float[N,10]), calib_x.npy, test_x.npy, test_y.npy, baseline.json (fp32 top-1 and
torch.ao.quantization post-training static INT8 top-1 of both models on test_x).

The CNN has what the channel-pruning tests need: Conv+BatchNormalization+Relu stages (the
BatchNormalization nodes are kept, not folded), a depthwise Conv (group = channels), a
residual Add, a Concat of two branches, MaxPool, Flatten -> Gemm.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def cbr(cin, cout, k, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = cbr(1, 16, 3)
        self.dw = cbr(16, 16, 3, groups=16)   # depthwise
        self.pw = cbr(16, 16, 1, relu=False)  # pointwise, joins the residual
        self.relu = nn.ReLU()
        self.br_a = cbr(16, 16, 1)
        self.br_b = cbr(16, 16, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        s = self.stem(x)
        r = self.relu(self.pw(self.dw(s)) + s)
        c = torch.cat([self.br_a(r), self.br_b(r)], 1)
        return self.fc(torch.flatten(self.pool(c), 1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def train(model, x, y, epochs):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        sched.step()
    model.eval()


def top1(logits, y):
    return float((logits.argmax(1) == y).float().mean()) * 100.0


def int8_top1(model, calib, x, y):
    """torch.ao.quantization FX post-training static quantization: per-channel symmetric
    weights, per-tensor affine activations (the default qconfig of the engine), calibrated on
    the same 200 samples effc's quantize pass gets. Debian's torch is built without fbgemm
    (engines: qnnpack, onednn), so the x86-class engine is onednn (its default qconfig is
    fbgemm's without reduce_range)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    import copy
    torch.backends.quantized.engine = 'onednn'
    qm = get_default_qconfig_mapping('onednn')
    prepared = prepare_fx(copy.deepcopy(model).eval(), qm, (calib[:1],))
    with torch.no_grad():
        prepared(calib)
    q = convert_fx(prepared)
    with torch.no_grad():
        return top1(q(x), y)


def export(model, name, effc, sample):
    onnx_path = os.path.join(tempfile.mkdtemp(), name + '.onnx')
    # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the Conv).
    torch.onnx.export(model, sample, onnx_path, input_names=['x'], output_names=['logits'],
                      dynamic_axes={'x': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    out = os.path.join(HERE, name + '.onnxtxt')
    subprocess.run([effc, 'import', onnx_path, '-o', out], check=True)
    return out


def check_effc(effc, path, x, want):
    """effc run on the imported model reproduces torch's logits."""
    d = tempfile.mkdtemp()
    np.save(os.path.join(d, 'x.npy'), x)
    subprocess.run([effc, 'run', path, '--input', 'x=' + os.path.join(d, 'x.npy'), '--output-dir', d],
                   check=True, stdout=subprocess.DEVNULL)
    got = np.load(os.path.join(d, 'logits.npy'))
    return float(np.abs(got - want).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--effc', default='build/driver/effc')
    args = ap.parse_args()

    digits = load_digits()
    xs = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    ys = digits.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(xs, ys, test_size=0.3, stratify=ys, random_state=0)
    calib = xtr[np.random.default_rng(1).permutation(len(xtr))[:200]]
    np.save(os.path.join(HERE, 'calib_x.npy'), np.ascontiguousarray(calib))
    np.save(os.path.join(HERE, 'test_x.npy'), np.ascontiguousarray(xte))
    np.save(os.path.join(HERE, 'test_y.npy'), yte)

    tx, ty, tc = torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(calib)
    ex, ey = torch.from_numpy(xte), torch.from_numpy(yte)
    base = {'split': 'sklearn load_digits, /16, train_test_split(test_size=0.3, stratify, '
                     'random_state=0); calib = rng(1) permutation of train [:200]',
            'test_samples': int(len(xte)), 'int8': 'torch.ao.quantization FX PTQ, onednn '
            'default qconfig (per-channel symmetric weights, HistogramObserver activations), '
            '200 calib samples'}
    for name, cls, epochs in (('cnn', Cnn, 40), ('mlp', Mlp, 60)):
        torch.manual_seed(0)
        model = cls()
        train(model, tx, ty, epochs)
        with torch.no_grad():
            logits = model(ex)
        fp32 = top1(logits, ey)
        int8 = int8_top1(model, tc, ex, ey)
        path = export(model, name, args.effc, ex[:2])
        diff = check_effc(args.effc, path, xte, logits.numpy())
        print('%s: fp32 top-1 %.2f%%  int8 top-1 %.2f%%  effc run vs torch max |diff| %.3g'
              % (name, fp32, int8, diff))
        if diff > 1e-3:
            sys.exit('%s: effc run differs from torch by %g' % (name, diff))
        base[name] = {'fp32_top1': round(fp32, 4), 'int8_top1': round(int8, 4),
                      'effc_max_abs_diff': diff}
    with open(os.path.join(HERE, 'baseline.json'), 'w') as f:
        json.dump(base, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
