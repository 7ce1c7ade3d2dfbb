#!/usr/bin/python3
"""gen_models.py - the models of the effc vs ONNX Runtime benchmark (bench/run_bench.py), made
with Debian's python3-torch / python3-torchvision: random weights from fixed seeds, exported to
.onnx (opset 17) into OUT_DIR with one fixed input each (<name>_x.npy). Never committed.

    /usr/bin/python3 bench/gen_models.py build/bench-models [NAME ...]

Models: eight torchvision CNNs at 1x3x224x224, a 4-layer transformer encoder (d 256, 4 heads,
seq 128) and a 4-layer GPT-style decoder (d 256, 4 heads, seq 64, causal mask), both written
out with plain MatMul/Softmax/LayerNorm so the export does not depend on PyTorch's fused
attention paths. Prints one line per model (name, input shape, parameters)."""
import math
import os
import sys

import numpy as np
import torch
import torchvision

OPSET = 17
CNNS = ["mobilenet_v2", "mobilenet_v3_small", "resnet18", "resnet50", "squeezenet1_1",
        "shufflenet_v2_x1_0", "efficientnet_b0", "mnasnet1_0"]


class Block(torch.nn.Module):
    """Pre-norm transformer block: x + MHA(LN(x)), then x + FFN(LN(x)) with GELU."""

    def __init__(self, d, heads, causal_len=None):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.fc1 = torch.nn.Linear(d, 4 * d)
        self.fc2 = torch.nn.Linear(4 * d, d)
        self.act = torch.nn.GELU()
        if causal_len:
            mask = torch.full((causal_len, causal_len), float("-inf")).triu(1)
            self.register_buffer("mask", mask)
        else:
            self.mask = None

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = q.reshape(b, s, self.h, self.dh).transpose(1, 2)
        k = k.reshape(b, s, self.h, self.dh).transpose(1, 2)
        v = v.reshape(b, s, self.h, self.dh).transpose(1, 2)
        att = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(self.dh))
        if self.mask is not None:
            att = att + self.mask
        y = att.softmax(dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, s, d))
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class Stack(torch.nn.Module):
    def __init__(self, layers, d, heads, causal_len=None):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Block(d, heads, causal_len) for _ in range(layers)])
        self.ln = torch.nn.LayerNorm(d)

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.ln(x)


def build(name):
    """(module, input shape)"""
    if name in CNNS:
        return getattr(torchvision.models, name)(weights=None), (1, 3, 224, 224)
    if name == "transformer_encoder":
        return Stack(4, 256, 4), (1, 128, 256)
    if name == "gpt_decoder":
        return Stack(4, 256, 4, causal_len=64), (1, 64, 256)
    raise SystemExit(f"unknown model {name}")


MODELS = CNNS + ["transformer_encoder", "gpt_decoder"]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    names = sys.argv[2:] or MODELS
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for i, name in enumerate(names):
        torch.manual_seed(1000 + MODELS.index(name) if name in MODELS else i)
        model, shape = build(name)
        model.eval()
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(7))
        path = os.path.join(out, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["x"],
                              output_names=["y"], do_constant_folding=True)
        np.save(os.path.join(out, name + "_x.npy"), x.numpy().astype(np.float32))
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: input {list(shape)}, {params} parameters -> {path}", flush=True)


if __name__ == "__main__":
    main()
