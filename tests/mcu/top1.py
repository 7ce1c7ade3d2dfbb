#!/usr/bin/env python3
"""top1.py LOGITS.npy LABELS.npy BASELINE.json MODEL - top-1 accuracy of float32 logits [N, C]
against int64 labels [N] (plain .npy v1, no numpy), printed beside the fp32 top-1 that
BASELINE.json (examples/digits, from torch) records for MODEL; exit 1 if more than one point
below it."""
import json
import struct
import sys


def load(path):
    with open(path, 'rb') as f:
        data = f.read()
    hlen = struct.unpack('<H', data[8:10])[0]
    hdr = data[10:10 + hlen].decode()
    descr = hdr.split("'descr':")[1].split("'")[1]
    shape = tuple(int(d) for d in hdr.split('(')[1].split(')')[0].split(',') if d.strip())
    code = {'<f4': 'f', '<i8': 'q'}[descr]
    n = 1
    for d in shape:
        n *= d
    return shape, struct.unpack('<%d%s' % (n, code), data[10 + hlen:10 + hlen + n * struct.calcsize(code)])


def main():
    (n, c), logits = load(sys.argv[1])
    _, labels = load(sys.argv[2])
    ref = json.load(open(sys.argv[3]))[sys.argv[4]]['fp32_top1']
    hits = sum(1 for i in range(n) if max(range(c), key=lambda k: logits[i * c + k]) == labels[i])
    acc = 100.0 * hits / n
    print('top-1 %.2f%% on %d samples (fp32 %.2f%%)' % (acc, n, ref))
    if acc < ref - 1.0:
        print('more than one point below fp32')
        sys.exit(1)
    print('top-1 within one point of fp32')


if __name__ == '__main__':
    main()
