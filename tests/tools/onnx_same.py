#!/usr/bin/env python3
"""Differential check against Debian's ONNX (python3-onnx 1.12), an independent reader:
parse effc's printed text with onnx.parser and load effc's exported .onnx with onnx.load,
then compare the two ModelProtos field by field (tensor payloads compared as arrays, so
raw_data vs typed fields does not matter), and run onnx.checker on the export.
usage: onnx_same.py TEXT.onnxtxt MODEL.onnx     (exit 77 = skipped: no python3-onnx)
"""
import sys

try:
    import numpy as np
    import onnx
    import onnx.parser
    from onnx import numpy_helper
    from google.protobuf import json_format
except ImportError:
    sys.exit(77)


def norm(msg):
    """A ModelProto as plain data, with every TensorProto replaced by (dtype, dims, values)."""
    d = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return d


def tensors(m):
    out = {}
    for t in m.graph.initializer:
        out[t.name] = numpy_helper.to_array(t)
    return out


def fix_112_floats(parsed, exported):
    """onnx 1.12's parser ignores the `: float` annotation on an integral literal
    (`alpha: float = 1` becomes INT 1; current ONNX and effc read FLOAT 1.0). Where the export
    has FLOAT and the parse has INT with the same value, take the export's reading."""
    for pn, en in zip(parsed.graph.node, exported.graph.node):
        for pa, ea in zip(pn.attribute, en.attribute):
            if (pa.name == ea.name and pa.type == onnx.AttributeProto.INT
                    and ea.type == onnx.AttributeProto.FLOAT and float(pa.i) == ea.f):
                pa.type, pa.f = onnx.AttributeProto.FLOAT, ea.f
                pa.ClearField('i')


def strip_tensors(m):
    m = onnx.ModelProto.FromString(m.SerializeToString())
    for n in m.graph.node:
        if n.domain == '':
            n.ClearField('domain')  # "" and absent both mean the default domain
    for t in m.graph.initializer:
        arr = numpy_helper.to_array(t)
        t.ClearField('raw_data')
        for f in ('float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data'):
            t.ClearField(f)
        t.doc_string = repr(arr.dtype) + repr(arr.tolist())
    for n in m.graph.node:
        for a in n.attribute:
            if a.HasField('t'):
                arr = numpy_helper.to_array(a.t)
                for f in ('raw_data', 'float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data'):
                    a.t.ClearField(f)
                a.t.doc_string = repr(arr.dtype) + repr(arr.tolist())
    return m


def main():
    text = open(sys.argv[1]).read()
    parsed = onnx.parser.parse_model(text)
    exported = onnx.load(sys.argv[2])
    onnx.checker.check_model(exported)
    fix_112_floats(parsed, exported)
    a, b = norm(strip_tensors(parsed)), norm(strip_tensors(exported))
    if a != b:
        import difflib
        import json
        sa = json.dumps(a, indent=1, sort_keys=True).split('\n')
        sb = json.dumps(b, indent=1, sort_keys=True).split('\n')
        print('\n'.join(difflib.unified_diff(sa, sb, 'onnx.parser(effc text)', 'onnx.load(effc export)', lineterm='')))
        return 1
    print('same model: onnx.parser(text) == onnx.load(export); checker ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
