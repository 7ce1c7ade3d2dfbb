#!/usr/bin/python3
# onnx_checker.py - the Python half of tests/unit/onnx_checker.c: runs Debian's onnx.checker
# on the .onnx files effc exported (--check FILE...) and compares an original model with
# effc's export of it field by field (--same ORIG EXPORTED), decoding tensor payloads
# independently of effc (typed fields vs raw_data). Exit 0 when all hold, 1 otherwise.
import sys

import numpy as np
import onnx
from google.protobuf.descriptor import FieldDescriptor as FD
from onnx import TensorProto, numpy_helper

SUBBYTE_OR_F8 = {17, 18, 19, 20, 21, 22, 23, 24, 25, 26}  # one byte per int32_data entry


def payload(t):
    """The tensor's values as bytes in raw_data layout (lists of bytes for strings)."""
    dt = t.data_type
    if dt == TensorProto.STRING:
        return list(t.string_data)
    if t.HasField("raw_data"):
        return bytes(t.raw_data)
    if dt in SUBBYTE_OR_F8:
        return bytes(np.array(t.int32_data, np.int64).astype(np.uint8))
    if dt in (TensorProto.FLOAT16, TensorProto.BFLOAT16):
        return np.array(t.int32_data, np.int64).astype(np.uint16).tobytes()
    if dt == TensorProto.COMPLEX64:
        return np.array(t.float_data, np.float32).tobytes()
    if dt == TensorProto.COMPLEX128:
        return np.array(t.double_data, np.float64).tobytes()
    return numpy_helper.to_array(t).tobytes()


def unknown(m):
    return sorted((u.field_number, u.wire_type, bytes(u.data) if isinstance(u.data, (bytes, bytearray)) else str(u.data))
                  for u in m.UnknownFields())


def same_value(x, y):
    return x == y or (isinstance(x, float) and x != x and y != y)


def compare(a, b, path, errs):
    if a.DESCRIPTOR.full_name == "onnx.TensorProto":
        for f in ("data_type", "name", "doc_string"):
            if getattr(a, f) != getattr(b, f):
                errs.append("%s.%s: %r != %r" % (path, f, getattr(a, f), getattr(b, f)))
        if list(a.dims) != list(b.dims):
            errs.append("%s.dims differ" % path)
        if list(a.external_data) != list(b.external_data):
            errs.append("%s.external_data differ" % path)
        if not a.external_data and payload(a) != payload(b):
            errs.append("%s: payload differs" % path)
        if a.HasField("segment") != b.HasField("segment") or a.segment != b.segment:
            errs.append("%s.segment differs" % path)
        if unknown(a) != unknown(b):
            errs.append("%s: unknown fields differ" % path)
        return
    for f in a.DESCRIPTOR.fields:
        va, vb = getattr(a, f.name), getattr(b, f.name)
        p = "%s.%s" % (path, f.name)
        if f.label == FD.LABEL_REPEATED:
            if len(va) != len(vb):
                errs.append("%s: %d != %d entries" % (p, len(va), len(vb)))
                continue
            for i, (x, y) in enumerate(zip(va, vb)):
                if f.type == FD.TYPE_MESSAGE:
                    compare(x, y, "%s[%d]" % (p, i), errs)
                elif not same_value(x, y):
                    errs.append("%s[%d]: %r != %r" % (p, i, x, y))
        elif f.type == FD.TYPE_MESSAGE:
            if a.HasField(f.name) != b.HasField(f.name):
                errs.append("%s: present in one only" % p)
            elif a.HasField(f.name):
                compare(va, vb, p, errs)
        else:
            ha, hb = a.HasField(f.name), b.HasField(f.name)
            # effc leaves out a node's empty (default) domain
            if ha != hb and not (f.name == "domain" and a.DESCRIPTOR.name == "NodeProto" and va == vb == ""):
                errs.append("%s: present in one only" % p)
            elif not same_value(va, vb):
                errs.append("%s: %r != %r" % (p, va, vb))
    if unknown(a) != unknown(b):
        errs.append("%s: unknown fields differ" % path)


def main(argv):
    ok = True
    mode = None
    args = []
    for a in argv[1:]:
        if a in ("--check", "--same"):
            mode = a
        else:
            args.append((mode, a))
    checks = [a for m, a in args if m == "--check"]
    same = [a for m, a in args if m == "--same"]
    for path in checks:
        try:
            onnx.checker.check_model(onnx.load(path, load_external_data=False))
            print("ok - checker accepts %s" % path)
        except Exception as e:  # noqa: BLE001 - report every failure
            print("not ok - checker rejects %s: %s" % (path, str(e).splitlines()[0] if str(e) else e))
            ok = False
    for orig, exp in zip(same[0::2], same[1::2]):
        errs = []
        compare(onnx.load(orig, load_external_data=False), onnx.load(exp, load_external_data=False), "model", errs)
        if errs:
            print("not ok - %s differs from %s: %s" % (exp, orig, "; ".join(errs[:5])))
            ok = False
        else:
            print("ok - %s has every field of %s" % (exp, orig))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
