#!/usr/bin/env python3
"""Writes an N-node ONNX text model for the parser benchmark (bench/parse_bench.py).

The graph is a chain that mixes ops the way exported models do: binary ops reading two
earlier values, unary ops, and ops with int/ints/float attributes, so the lexer, the
attribute code and the symbol table all do real work. Only syntax that Debian's
onnx 1.12 parser also accepts is used, so both tools read the same bytes.
usage: gen_graph.py N OUT.onnxtxt
"""
import sys


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    with open(out, 'w') as f:
        f.write('<\n  ir_version: 8,\n  opset_import: ["" : 17]\n>\n')
        f.write('bench (float[N, 64] x) => (float[N, 64] y)\n{\n')
        prev, prev2 = 'x', 'x'
        for i in range(n):
            v = f'v{i}' if i < n - 1 else 'y'
            k = i % 6
            if k == 0:
                f.write(f'  {v} = Add ({prev}, {prev2})\n')
            elif k == 1:
                f.write(f'  {v} = Relu ({prev})\n')
            elif k == 2:
                f.write(f'  {v} = Mul ({prev}, {prev2})\n')
            elif k == 3:
                f.write(f'  {v} = LeakyRelu <alpha = 0.01> ({prev})\n')
            elif k == 4:
                f.write(f'  {v} = Softmax <axis = -1> ({prev})\n')
            else:
                f.write(f'  {v} = Transpose <perm = [0, 1]> ({prev})\n')
            prev2, prev = prev, v
        f.write('}\n')


if __name__ == '__main__':
    main()
