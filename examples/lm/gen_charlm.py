#!/usr/bin/env python3
"""Generates examples/lm/: a character-level transformer language model trained on real
English text, the token windows to calibrate and evaluate it, and its perplexity as torch
measures it (the independent reference for `effc eval --tokens`).

Corpus: Debian package `fortunes` (1:1.99.1-7.3, "Data files containing fortune cookies"),
the English fortune files /usr/share/games/fortunes/<name> (quotations, literature, jokes,
definitions; about 2.4 MB). Only this generator needs the package
(`apt-get install --no-install-recommends fortunes`); CI uses the committed outputs.

Run from the repo root after building effc:
    /usr/bin/python3 examples/lm/gen_charlm.py [--effc build/driver/effc] [--steps N] [--cpu-seconds S]
Needs Debian's python3-torch (1.13), python3-onnx, numpy. Trains on one CPU thread for a
few minutes: at most --steps steps and --cpu-seconds of CPU time (default 200 s), seeded.
The learning-rate schedule follows the CPU-time budget, so a run on a busier or faster
machine trains a different number of steps (charlm.json records them) and the model differs
slightly; `--steps N --cpu-seconds 1e9` gives a deterministic schedule over N steps.

Text and split: each file is split into fortunes at its '%' lines; characters outside
printable ASCII and newline are dropped (tabs become spaces). The fortunes are shuffled with
numpy default_rng(0); the last 10% are the held-out test text, the rest the training text.
Vocabulary: the characters of the training text, sorted by code point (vocab.txt: line i is
token i's code point in decimal). Test characters not in it are dropped.

Model (input tokens: int64[N,T], T <= 64, output logits: float[N,T,V]): token + learned
position embeddings, 2 pre-LayerNorm blocks (d_model 128, 4 heads, causal additive mask
-1e4, FFN 512 with GELU(tanh)), final LayerNorm, linear head. Every weight MatMul has K = 128
or 512. Exported at opset 17 (LayerNormalization).

Outputs: charlm.onnxtxt + charlm.safetensors, calib_tokens.npy int64[64,64] (random training
windows, rng(1)), test_tokens.npy int64[128,64] (consecutive non-overlapping windows from the
start of the test text), vocab.txt, charlm.json (torch's perplexity on test_tokens:
exp(mean NLL of tokens[:,t+1] under logits[:,t]); effc run's max |diff| from torch).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
FORTUNES = '/usr/share/games/fortunes'
T, D, H, F, L = 64, 128, 4, 512, 2
BATCH, LR = 16, 3e-3
torch.set_num_threads(1)


def load_corpus():
    if not os.path.isdir(FORTUNES):
        sys.exit('%s missing: apt-get install --no-install-recommends fortunes' % FORTUNES)
    items = []
    for name in sorted(os.listdir(FORTUNES)):
        path = os.path.join(FORTUNES, name)
        if '.' in name or os.path.islink(path):
            continue
        with open(path, encoding='latin-1') as f:
            text = f.read().replace('\t', ' ')
        text = ''.join(ch for ch in text if ch == '\n' or ' ' <= ch <= '~')
        for item in text.split('\n%\n'):
            item = item.strip('%\n')
            if item.strip():
                items.append(item + '\n\n')
    rng = np.random.default_rng(0)
    order = rng.permutation(len(items))
    n_test = len(items) // 10
    train = ''.join(items[i] for i in order[:-n_test])
    test = ''.join(items[i] for i in order[-n_test:])
    return train, test


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(D)
        self.q = nn.Linear(D, D)
        self.k = nn.Linear(D, D)
        self.v = nn.Linear(D, D)
        self.o = nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.ff1 = nn.Linear(D, F)
        self.ff2 = nn.Linear(F, D)

    def forward(self, x, mask):
        n, t, _ = x.shape
        h = self.ln1(x)

        def heads(y):
            return y.reshape(n, t, H, D // H).transpose(1, 2)
        q, k, v = heads(self.q(h)), heads(self.k(h)), heads(self.v(h))
        att = torch.softmax(q @ k.transpose(2, 3) * (1.0 / math.sqrt(D // H)) + mask, -1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(n, t, D))
        return x + self.ff2(nn.functional.gelu(self.ff1(self.ln2(x)), approximate='tanh'))


class CharLm(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok = nn.Embedding(vocab, D)
        self.pos = nn.Parameter(torch.randn(T, D) * 0.02)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, vocab)
        self.register_buffer('mask', torch.triu(torch.full((T, T), -1e4), 1))

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.tok(tokens) + self.pos[:t]
        mask = self.mask[:t, :t]
        for b in self.blocks:
            x = b(x, mask)
        return self.head(self.ln(x))


def nll(logits, tokens):
    v = logits.shape[-1]
    return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v), tokens[:, 1:].reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--effc', default='build/driver/effc')
    ap.add_argument('--steps', type=int, default=3000, help='at most this many steps')
    ap.add_argument('--cpu-seconds', type=float, default=200,
                    help='and at most this much process CPU time (the learning rate schedule '
                         'follows whichever budget runs out first)')
    args = ap.parse_args()

    train_text, test_text = load_corpus()
    chars = sorted(set(train_text))
    idx = {c: i for i, c in enumerate(chars)}
    enc = lambda s: np.array([idx[c] for c in s if c in idx], dtype=np.int64)
    tr, te = enc(train_text), enc(test_text)
    print('corpus: %d train, %d test characters, vocab %d' % (len(tr), len(te), len(chars)))
    with open(os.path.join(HERE, 'vocab.txt'), 'w') as f:
        f.writelines('%d\n' % ord(c) for c in chars)
    rng = np.random.default_rng(1)
    calib = np.stack([tr[s:s + T] for s in rng.integers(0, len(tr) - T, 64)])
    test = te[:128 * T].reshape(128, T)
    np.save(os.path.join(HERE, 'calib_tokens.npy'), calib)
    np.save(os.path.join(HERE, 'test_tokens.npy'), test)

    torch.manual_seed(0)
    model = CharLm(len(chars))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    data = torch.from_numpy(tr)
    g = torch.Generator().manual_seed(0)
    t0, c0 = time.time(), time.process_time()
    step = 0
    while step < args.steps:
        done = max(step / args.steps, (time.process_time() - c0) / args.cpu_seconds)
        if done >= 1:
            break
        # linear warm-up over the first 5%, then cosine decay to 0
        lr = LR * (done / 0.05 if done < 0.05 else 0.5 * (1 + math.cos(math.pi * (done - 0.05) / 0.95)))
        for group in opt.param_groups:
            group['lr'] = lr
        starts = torch.randint(0, len(tr) - T, (BATCH,), generator=g)
        batch = torch.stack([data[s:s + T] for s in starts])
        loss = nll(model(batch), batch)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            print('step %d loss %.3f lr %.2g (%.0f s wall, %.0f s cpu)' % (
                step, loss.item(), lr, time.time() - t0, time.process_time() - c0), flush=True)
        step += 1
    print('trained %d steps (%.0f s cpu)' % (step, time.process_time() - c0))
    model.eval()
    tt = torch.from_numpy(test)
    with torch.no_grad():
        logits = model(tt)
        ppl = math.exp(nll(logits, tt).item())
    print('torch perplexity on test_tokens: %.4f' % ppl)

    onnx_path = os.path.join(tempfile.mkdtemp(), 'charlm.onnx')
    torch.onnx.export(model, tt[:2], onnx_path, input_names=['tokens'], output_names=['logits'],
                      dynamic_axes={'tokens': {0: 'N', 1: 'T'}, 'logits': {0: 'N', 1: 'T'}},
                      opset_version=17)
    out = os.path.join(HERE, 'charlm.onnxtxt')
    subprocess.run([args.effc, 'import', onnx_path, '-o', out], check=True)
    d = tempfile.mkdtemp()
    np.save(os.path.join(d, 't.npy'), test[:8])
    subprocess.run([args.effc, 'run', out, '--input', 'tokens=' + os.path.join(d, 't.npy'),
                    '--output-dir', d], check=True, stdout=subprocess.DEVNULL)
    diff = float(np.abs(np.load(os.path.join(d, 'logits.npy')) - logits[:8].numpy()).max())
    print('effc run vs torch on 8 test windows: max |diff| %.3g' % diff)
    if diff > 1e-3:
        sys.exit('effc run differs from torch by %g' % diff)
    with open(os.path.join(HERE, 'charlm.json'), 'w') as f:
        json.dump({'corpus': 'Debian package fortunes, %s/*' % FORTUNES, 'vocab': len(chars),
                   'train_chars': int(len(tr)), 'test_chars': int(len(te)),
                   'steps': step, 'batch': BATCH, 'test_tokens_shape': list(test.shape),
                   'torch_perplexity': round(ppl, 6), 'effc_max_abs_diff': diff}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
