#!/usr/bin/python3
"""diff_conformance.py - differential check of the text parser against ONNX itself.

For every ONNX node-test case (DIR/<case>/model.onnx and model.onnxtxt, the text printed by
ONNX from the protobuf), dump the ModelProto that python3-onnx loads from model.onnx, dump
what effc's fe_parse builds from model.onnxtxt (with dump_ir, see dump_ir.c for how to build
it), both in the same line format, and compare. Not part of CI (it needs the conformance
archive unpacked and a built dump_ir).

    /usr/bin/python3 tests/data/parser/diff_conformance.py /tmp/dump_ir /tmp/conf/node [-v]
"""
import os
import struct
import subprocess
import sys

import onnx
from onnx import TensorProto


def qstr(b):
    if isinstance(b, str):
        b = b.encode('utf-8')
    out = ['"']
    for c in b:
        if c < 0x20 or c >= 0x7f or c in (0x22, 0x5c):
            out.append('\\x%02x' % c)
        else:
            out.append(chr(c))
    out.append('"')
    return ''.join(out)


ELEM = {1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
        9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64',
        15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2',
        20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1', 24: 'float8e8m0', 25: 'uint2',
        26: 'int2'}
ATTR = {0: 'undefined', 1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 5: 'graph', 6: 'floats', 7: 'ints',
        8: 'strings', 9: 'tensors', 10: 'graphs', 11: 'sparse_tensor', 12: 'sparse_tensors',
        13: 'type_proto', 14: 'type_protos'}
INT32_FMT = {2: 'B', 3: 'b', 4: 'H', 5: 'h', 6: 'i', 9: 'B', 10: 'H', 16: 'H', 17: 'B', 18: 'B', 19: 'B',
             20: 'B', 24: 'B'}
SUBBYTE = {21: 4, 22: 4, 23: 4, 25: 2, 26: 2}


def shape(dims):
    parts = []
    for d in dims:
        if d.HasField('dim_value'):
            parts.append(str(d.dim_value))
        elif d.HasField('dim_param'):
            parts.append(qstr(d.dim_param))
        else:
            parts.append('?')
    return '[' + ','.join(parts) + ']' if parts else ''


def typestr(t):
    k = t.WhichOneof('value')
    if k is None:
        return 'notype'
    if k in ('tensor_type', 'sparse_tensor_type'):
        tt = getattr(t, k)
        s = ELEM.get(tt.elem_type, 'undefined') + (shape(tt.shape.dim) if tt.HasField('shape') else '[]')
        return 'sparse(%s)' % s if k == 'sparse_tensor_type' else s
    if k == 'sequence_type':
        return 'seq(%s)' % typestr(t.sequence_type.elem_type)
    if k == 'optional_type':
        return 'optional(%s)' % typestr(t.optional_type.elem_type)
    if k == 'map_type':
        return 'map(%s,%s)' % (ELEM.get(t.map_type.key_type), typestr(t.map_type.value_type))
    if k == 'opaque_type':
        o = t.opaque_type
        return 'opaque(%s,%s)' % (qstr(o.domain) if o.domain else '-', qstr(o.name) if o.name else '-')
    return 'notype'


def tensor_data(t):
    dt = t.data_type
    n = 1
    for d in t.dims:
        n *= d
    if dt == 8:
        if not t.string_data and n:
            return ' nodata'
        return ' data=' + ','.join(qstr(s) for s in t.string_data)
    if t.HasField('raw_data'):
        return ' data=' + t.raw_data.hex()
    if dt in (1, 14):
        vals, fmt = t.float_data, 'f'
    elif dt in (11, 15):
        vals, fmt = t.double_data, 'd'
    elif dt == 7:
        vals, fmt = t.int64_data, 'q'
    elif dt in (12, 13):
        vals, fmt = t.uint64_data, 'I' if dt == 12 else 'Q'
    elif dt in SUBBYTE:
        bits = SUBBYTE[dt]
        per = 8 // bits
        out = bytearray((n * bits + 7) // 8)
        for i, v in enumerate(t.int32_data):   # one value per element, as the text has them
            out[i // per] |= (v & ((1 << bits) - 1)) << ((i % per) * bits)
        if not t.int32_data and n:
            return ' nodata'
        return ' data=' + bytes(out).hex()
    else:
        vals, fmt = t.int32_data, INT32_FMT.get(dt, 'i')
        if fmt in 'BH':
            vals = [v & (0xff if fmt == 'B' else 0xffff) for v in vals]
    if not vals and n:
        return ' nodata'
    return ' data=' + struct.pack('<%d%s' % (len(vals), fmt), *vals).hex()


def tensor(t):
    s = 'tensor name=%s %s [%s]' % (qstr(t.name) if t.name else '-', ELEM.get(t.data_type, 'undefined'),
                                     ','.join(str(d) for d in t.dims))
    if t.data_location == TensorProto.EXTERNAL:
        return s + ' ext' + ''.join(' %s=%s' % (qstr(e.key), qstr(e.value)) for e in t.external_data)
    return s + tensor_data(t)


def f32(x):
    return 'f%08x' % struct.unpack('<I', struct.pack('<f', x))[0]


def attr(a, depth, out):
    line = '%sattr %s %s' % (' ' * depth, a.name, ATTR[a.type])
    if a.ref_attr_name:
        out.append(line + ' @' + a.ref_attr_name)
        return
    t = a.type
    if t == 1:
        line += ' ' + f32(a.f)
    elif t == 2:
        line += ' %d' % a.i
    elif t == 3:
        line += ' ' + qstr(a.s)
    elif t == 4:
        line += ' ' + tensor(a.t)
    elif t == 13:
        line += ' ' + typestr(a.tp)
    elif t == 6:
        line += ''.join(' ' + f32(x) for x in a.floats)
    elif t == 7:
        line += ''.join(' %d' % x for x in a.ints)
    elif t == 8:
        line += ''.join(' ' + qstr(x) for x in a.strings)
    elif t == 9:
        line += ''.join(' ' + tensor(x) for x in a.tensors)
    elif t == 14:
        line += ''.join(' ' + typestr(x) for x in a.type_protos)
    out.append(line)
    if t == 5:
        graph(a.g, depth + 1, out)
    if t == 10:
        for g in a.graphs:
            graph(g, depth + 1, out)


def graph(g, depth, out):
    pad = ' ' * depth
    out.append('%sgraph %s' % (pad, qstr(g.name)))
    for v in g.input:
        out.append('%sinput %s %s' % (pad, qstr(v.name), typestr(v.type)))
    for v in g.output:
        out.append('%soutput %s %s' % (pad, qstr(v.name), typestr(v.type)))
    for t in g.initializer:
        out.append('%sinit %s' % (pad, tensor(t)))
    for v in g.value_info:
        out.append('%svi %s %s' % (pad, qstr(v.name), typestr(v.type)))
    for n in g.node:
        name = qstr(n.name) if n.HasField('name') else '-'
        ins = ','.join(qstr(x) if x else '' for x in n.input)
        outs = ','.join(qstr(x) if x else '' for x in n.output)
        out.append('%snode %s %s:%s:- in=%s out=%s' % (pad, name, n.domain, n.op_type, ins, outs))
        for a in n.attribute:
            attr(a, depth + 1, out)


def model(m):
    out = []
    if m.HasField('ir_version'):
        out.append('ir_version %d' % m.ir_version)
    if m.HasField('model_version'):
        out.append('model_version %d' % m.model_version)
    for o in m.opset_import:
        out.append('opset %s %d' % (qstr(o.domain), o.version))
    for k in ('producer_name', 'producer_version', 'domain', 'doc_string'):
        if m.HasField(k):
            out.append('%s %s' % (k, qstr(getattr(m, k))))
    for p in m.metadata_props:
        out.append('meta %s %s' % (qstr(p.key), qstr(p.value)))
    graph(m.graph, 0, out)
    for f in m.functions:
        out.append('function %s %s -' % (qstr(f.domain), qstr(f.name)))
        for o in f.opset_import:
            out.append(' opset %s %d' % (qstr(o.domain), o.version))
        for a in f.attribute:
            out.append(' param %s' % a)
        fg = onnx.GraphProto(name=f.name, node=f.node)
        fg.input.extend(onnx.ValueInfoProto(name=x) for x in f.input)
        fg.output.extend(onnx.ValueInfoProto(name=x) for x in f.output)
        graph(fg, 1, out)
    return out


def main():
    dump_ir, root = sys.argv[1], sys.argv[2]
    verbose = '-v' in sys.argv
    cases = sorted(c for c in os.listdir(root) if os.path.exists(os.path.join(root, c, 'model.onnxtxt')))
    mine = {}
    for i in range(0, len(cases), 200):
        files = [os.path.join(root, c, 'model.onnxtxt') for c in cases[i:i + 200]]
        r = subprocess.run([dump_ir] + files, capture_output=True, text=True, errors='replace')
        for sec in r.stdout.split('=== ')[1:]:
            head, _, body = sec.partition('\n')
            mine[os.path.basename(os.path.dirname(head))] = body.rstrip('\n').split('\n')
    same = differ = 0
    for c in cases:
        ref = model(onnx.load(os.path.join(root, c, 'model.onnx')))
        got = mine.get(c, ['MISSING'])
        if ref == got:
            same += 1
            continue
        differ += 1
        for k, (a, b) in enumerate(zip(ref + ['<end>'] * len(got), got + ['<end>'] * len(ref))):
            if a != b:
                print('%s: line %d\n  onnx: %s\n  effc: %s' % (c, k + 1, a[:300], b[:300]))
                break
        if verbose:
            print('\n'.join(got))
    print('%d identical, %d different' % (same, differ))
    return 1 if differ else 0


if __name__ == '__main__':
    sys.exit(main())
