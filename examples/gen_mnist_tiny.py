#!/usr/bin/env python3
"""Generates examples/mnist_tiny.onnx: a small MNIST-shaped convnet (Conv-Relu-MaxPool x2,
Flatten, Gemm) with deterministic random weights, as PyTorch's exporter would lay it out
(initializers in raw_data, named nodes, value_info from shape inference).
Run with Debian's python3 (python3-onnx, numpy): /usr/bin/python3 examples/gen_mnist_tiny.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(6_5940)


def init(name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [
    init('conv1.weight', (8, 1, 3, 3), 0.3), init('conv1.bias', (8,), 0.1),
    init('conv2.weight', (16, 8, 3, 3), 0.1), init('conv2.bias', (16,), 0.1),
    init('fc.weight', (10, 16 * 7 * 7), 0.05), init('fc.bias', (10,), 0.1),
]
nodes = [
    helper.make_node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['conv1'], name='/conv1/Conv',
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node('Relu', ['conv1'], ['relu1'], name='/relu1/Relu'),
    helper.make_node('MaxPool', ['relu1'], ['pool1'], name='/pool1/MaxPool', kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node('Conv', ['pool1', 'conv2.weight', 'conv2.bias'], ['conv2'], name='/conv2/Conv',
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node('Relu', ['conv2'], ['relu2'], name='/relu2/Relu'),
    helper.make_node('MaxPool', ['relu2'], ['pool2'], name='/pool2/MaxPool', kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node('Flatten', ['pool2'], ['flat'], name='/Flatten', axis=1),
    helper.make_node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], name='/fc/Gemm', transB=1),
]
graph = helper.make_graph(nodes, 'mnist_tiny',
                          [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 1, 28, 28])],
                          [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['N', 10])],
                          initializer=inits)
model = helper.make_model(graph, producer_name='effc-examples', producer_version='1',
                          opset_imports=[helper.make_opsetid('', 13)])
model.ir_version = 8
model.doc_string = 'A tiny MNIST-shaped convnet with random weights'
onnx.checker.check_model(model)
model = onnx.shape_inference.infer_shapes(model)
onnx.save(model, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mnist_tiny.onnx'))
