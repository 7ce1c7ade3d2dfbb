#!/usr/bin/env python3
"""Generates the runnable examples: a small MLP, a CNN with BatchNorm (for fold-bn and fuse),
and a pre-norm transformer block, each as <name>.onnx plus an input <name>_x.npy and the
expected output <name>_y.npy computed here with numpy (an oracle independent of effc).
The driver's `effc import` then turns each .onnx into <name>.onnxtxt + <name>.safetensors.

    /usr/bin/python3 examples/gen_examples.py examples/
    for n in mlp cnn transformer; do build/driver/effc import examples/$n.onnx -o examples/$n.onnxtxt; done

Needs Debian's python3-onnx and numpy; not run by CI (the outputs are committed)."""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(6_5940)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def w(shape, scale):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def save(name, nodes, inits, x_info, y_info, x, y):
    g = helper.make_graph(nodes, name, [x_info], [y_info],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], producer_name='effc-examples')
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + '.onnx'))
    np.save(os.path.join(OUT, name + '_x.npy'), x)
    np.save(os.path.join(OUT, name + '_y.npy'), y.astype(np.float32))


# ------------------------------------------------------------------ MLP: 64 -> 128 -> 64 -> 10
def mlp():
    p = {'fc1_w': w((64, 128), 0.15), 'fc1_b': w((128,), 0.1), 'fc2_w': w((128, 64), 0.1),
         'fc2_b': w((64,), 0.1), 'fc3_w': w((64, 10), 0.15), 'fc3_b': w((10,), 0.1)}
    nodes = [
        helper.make_node('MatMul', ['x', 'fc1_w'], ['h1'], name='fc1'),
        helper.make_node('Add', ['h1', 'fc1_b'], ['h1b'], name='fc1_bias'),
        helper.make_node('Relu', ['h1b'], ['a1'], name='relu1'),
        helper.make_node('Gemm', ['a1', 'fc2_w', 'fc2_b'], ['h2'], name='fc2'),
        helper.make_node('Relu', ['h2'], ['a2'], name='relu2'),
        helper.make_node('Dropout', ['a2'], ['d2'], name='dropout'),
        helper.make_node('Gemm', ['d2', 'fc3_w', 'fc3_b'], ['logits'], name='fc3'),
        helper.make_node('Softmax', ['logits'], ['y'], name='softmax', axis=-1),
    ]
    x = w((4, 64), 1.0)
    a1 = np.maximum(x @ p['fc1_w'] + p['fc1_b'], 0)
    a2 = np.maximum(a1 @ p['fc2_w'] + p['fc2_b'], 0)
    z = a2 @ p['fc3_w'] + p['fc3_b']
    e = np.exp(z - z.max(-1, keepdims=True))
    y = e / e.sum(-1, keepdims=True)
    save('mlp', nodes, p, helper.make_tensor_value_info('x', TensorProto.FLOAT, [4, 64]),
         helper.make_tensor_value_info('y', TensorProto.FLOAT, [4, 10]), x, y)


# ------------------------------------------------------------------ CNN with BatchNorm
def conv2d(x, wt, b, stride=1, pad=1):
    n, c, h, wd = x.shape
    oc, ic, kh, kw = wt.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, oc, oh, ow), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            y += np.einsum('nchw,oc->nohw', patch, wt[:, :, i, j])
    return y + b.reshape(1, -1, 1, 1)


def bn(x, s, b, m, v, eps=1e-5):
    sh = (1, -1, 1, 1)
    return (x - m.reshape(sh)) / np.sqrt(v.reshape(sh) + eps) * s.reshape(sh) + b.reshape(sh)


def cnn():
    p = {}
    nodes = []
    prev, c_in, h = 'x', 3, 32
    ref = w((2, 3, 32, 32), 1.0)
    x = ref
    for i, (c_out, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
        k = 'conv%d' % i
        p[k + '_w'] = w((c_out, c_in, 3, 3), 1.0 / math.sqrt(9 * c_in))
        p[k + '_b'] = w((c_out,), 0.05)
        for s, (mu, sc) in {'scale': (1.0, 0.1), 'bias': (0.0, 0.1), 'mean': (0.0, 0.1), 'var': (1.0, 0.0)}.items():
            p['bn%d_%s' % (i, s)] = (mu + w((c_out,), sc)) if s != 'var' else (0.5 + rng.random(c_out)).astype(np.float32)
        nodes += [
            helper.make_node('Conv', [prev, k + '_w', k + '_b'], [k], name=k, kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1], strides=[stride, stride]),
            helper.make_node('BatchNormalization', [k] + ['bn%d_%s' % (i, s) for s in ('scale', 'bias', 'mean', 'var')],
                             ['bn%d' % i], name='bn%d' % i, epsilon=1e-5),
            helper.make_node('Relu', ['bn%d' % i], ['relu%d' % i], name='relu%d' % i),
        ]
        x = np.maximum(bn(conv2d(x, p[k + '_w'], p[k + '_b'], stride), *(p['bn%d_%s' % (i, s)] for s in ('scale', 'bias', 'mean', 'var'))), 0)
        prev, c_in = 'relu%d' % i, c_out
    p['fc_w'] = w((10, 64), 0.2)
    p['fc_b'] = w((10,), 0.1)
    nodes += [
        helper.make_node('GlobalAveragePool', [prev], ['gap'], name='gap'),
        helper.make_node('Flatten', ['gap'], ['flat'], name='flatten'),
        helper.make_node('Gemm', ['flat', 'fc_w', 'fc_b'], ['y'], name='fc', transB=1),
    ]
    y = x.mean(axis=(2, 3)) @ p['fc_w'].T + p['fc_b']
    save('cnn', nodes, p, helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3, 32, 32]),
         helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 10]), ref, y)


# ------------------------------------------------------------------ transformer block
def transformer():
    T, D, H, F = 16, 64, 4, 128
    dh = D // H
    p = {'ln1_s': 1 + w((D,), 0.1), 'ln1_b': w((D,), 0.1), 'wqkv': w((D, 3 * D), 1 / math.sqrt(D)),
         'wo': w((D, D), 1 / math.sqrt(D)), 'ln2_s': 1 + w((D,), 0.1), 'ln2_b': w((D,), 0.1),
         'w1': w((D, F), 1 / math.sqrt(D)), 'b1': w((F,), 0.05), 'w2': w((F, D), 1 / math.sqrt(F)),
         'b2': w((D,), 0.05),
         'shape_heads': np.array([1, T, 3, H, dh], np.int64), 'shape_out': np.array([1, T, D], np.int64),
         'scale': np.array(1 / math.sqrt(dh), np.float32), 'half': np.array(0.5, np.float32),
         'one': np.array(1.0, np.float32), 'rsqrt2': np.array(1 / math.sqrt(2), np.float32)}
    mk = helper.make_node
    nodes = [
        mk('LayerNormalization', ['x', 'ln1_s', 'ln1_b'], ['n1'], name='ln1', axis=-1, epsilon=1e-5),
        mk('MatMul', ['n1', 'wqkv'], ['qkv'], name='qkv'),
        mk('Reshape', ['qkv', 'shape_heads'], ['qkv5'], name='split_heads'),
        mk('Transpose', ['qkv5'], ['qkvt'], name='heads_first', perm=[2, 0, 3, 1, 4]),
        mk('Split', ['qkvt'], ['q3', 'k3', 'v3'], name='split_qkv', axis=0),
        mk('Squeeze', ['q3', 'zero'], ['q'], name='sq_q'),
        mk('Squeeze', ['k3', 'zero'], ['k'], name='sq_k'),
        mk('Squeeze', ['v3', 'zero'], ['v'], name='sq_v'),
        mk('Transpose', ['k'], ['kt'], name='kt', perm=[0, 1, 3, 2]),
        mk('MatMul', ['q', 'kt'], ['s'], name='scores'),
        mk('Mul', ['s', 'scale'], ['ss'], name='scale_scores'),
        mk('Softmax', ['ss'], ['pr'], name='softmax', axis=-1),
        mk('MatMul', ['pr', 'v'], ['o'], name='attend'),
        mk('Transpose', ['o'], ['ot'], name='merge_heads_t', perm=[0, 2, 1, 3]),
        mk('Reshape', ['ot', 'shape_out'], ['om'], name='merge_heads'),
        mk('MatMul', ['om', 'wo'], ['proj'], name='out_proj'),
        mk('Add', ['x', 'proj'], ['r1'], name='residual1'),
        mk('LayerNormalization', ['r1', 'ln2_s', 'ln2_b'], ['n2'], name='ln2', axis=-1, epsilon=1e-5),
        mk('MatMul', ['n2', 'w1'], ['f1'], name='ffn1'),
        mk('Add', ['f1', 'b1'], ['f1b'], name='ffn1_bias'),
        # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
        mk('Mul', ['f1b', 'rsqrt2'], ['g0'], name='gelu_scale'),
        mk('Erf', ['g0'], ['g1'], name='gelu_erf'),
        mk('Add', ['g1', 'one'], ['g2'], name='gelu_add'),
        mk('Mul', ['f1b', 'g2'], ['g3'], name='gelu_mul'),
        mk('Mul', ['g3', 'half'], ['g4'], name='gelu_half'),
        mk('MatMul', ['g4', 'w2'], ['f2'], name='ffn2'),
        mk('Add', ['f2', 'b2'], ['f2b'], name='ffn2_bias'),
        mk('Add', ['r1', 'f2b'], ['y'], name='residual2'),
    ]
    p['zero'] = np.array([0], np.int64)
    x = w((1, T, D), 1.0)

    def ln(a, s, b):
        mu = a.mean(-1, keepdims=True)
        var = ((a - mu) ** 2).mean(-1, keepdims=True)
        return (a - mu) / np.sqrt(var + 1e-5) * s + b

    n1 = ln(x.astype(np.float64), p['ln1_s'], p['ln1_b'])
    qkv = (n1 @ p['wqkv']).reshape(1, T, 3, H, dh).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
    e = np.exp(s - s.max(-1, keepdims=True))
    pr = e / e.sum(-1, keepdims=True)
    o = (pr @ v).transpose(0, 2, 1, 3).reshape(1, T, D)
    r1 = x + o @ p['wo']
    f1 = ln(r1, p['ln2_s'], p['ln2_b']) @ p['w1'] + p['b1']
    gelu = 0.5 * f1 * (1 + np.vectorize(math.erf)(f1 / math.sqrt(2)))
    y = r1 + gelu @ p['w2'] + p['b2']
    save('transformer', nodes, p, helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, T, D]),
         helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, T, D]), x, y)


mlp()
cnn()
transformer()
