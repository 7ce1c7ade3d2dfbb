#!/usr/bin/env python3
"""Exports torchvision's ResNet-18 and MobileNetV2; the commands below make weightless
ONNX text versions for `effc stats`: every initializer is typed and refers to external data in
<name>.safetensors, which is not committed (stats needs shapes, not values).

    /usr/bin/python3 examples/gen_torchvision.py DIR      # DIR/<name>.onnx (random weights)
    for n in resnet18 mobilenet_v2; do
      build/driver/effc import DIR/$n.onnx -o DIR/$n.onnxtxt && cp DIR/$n.onnxtxt examples/weightless/
    done

Needs Debian's python3-torchvision (torch's own ONNX exporter, opset 13, eval mode: the
exporter folds BatchNorm into Conv); not run by CI (the .onnxtxt files are committed)."""
import os
import sys

import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else '.'
for name, ctor in [('resnet18', torchvision.models.resnet18),
                   ('mobilenet_v2', torchvision.models.mobilenet_v2)]:
    model = ctor(weights=None).eval()
    path = os.path.join(out, name + '.onnx')
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, opset_version=13,
                      input_names=['input'], output_names=['logits'], do_constant_folding=True)
