#!/usr/bin/python3
"""Write the safetensors fixtures for tests/unit/test_safetensors.c with a plain Python writer
(json + struct + numpy, as in toolchain.md section 10; Debian has no safetensors package).
The values are mirrored as literals in test_safetensors.c.

plain.safetensors       ordinary dtypes, written the way Hugging Face lays files out
effc_types.safetensors  effc's conventions (docs/formats.md) for types safetensors cannot name:
                        dtype U8, shape [nbytes], __metadata__ "effc.type.<name>": "<onnx type>"
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, tensors, metadata):
    """tensors: list of (name, dtype, shape, raw bytes), laid out contiguously in list order."""
    hdr, off, blobs = {}, 0, []
    if metadata is not None:
        hdr['__metadata__'] = metadata
    for name, dtype, shape, raw in tensors:
        hdr[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(hdr, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def pack_int4(vals):
    """ONNX int4 packing: two per byte, element 2k in the low nibble."""
    vals = list(vals) + ([0] if len(vals) % 2 else [])
    return bytes(((vals[i] & 15) | ((vals[i + 1] & 15) << 4)) for i in range(0, len(vals), 2))


def pack_strings(strs):
    """effc's string layout: n u64 LE byte lengths, then the bytes, concatenated."""
    bs = [s.encode('utf-8') for s in strs]
    return b''.join(struct.pack('<Q', len(b)) for b in bs) + b''.join(bs)


def main():
    plain = [
        ('fc.weight', 'F32', (2, 3), np.arange(6, dtype='<f4').tobytes()),
        ('fc.bias', 'F32', (2,), np.array([0.5, -1.0], '<f4').tobytes()),
        ('ids', 'I64', (3,), np.array([1, -2, 3], '<i8').tobytes()),
        ('mask', 'BOOL', (3,), np.array([True, False, True]).tobytes()),
        ('half', 'F16', (2,), np.array([1.5, -2.0], '<f2').tobytes()),
        ('brain', 'BF16', (2,), np.array([0x3f80, 0xc040], '<u2').tobytes()),
        ('bytes', 'U8', (3,), bytes([1, 2, 255])),
        ('scalar', 'F64', (), np.array(2.5, '<f8').tobytes()),
        ('empty', 'F32', (0, 4), b''),
        ('e4m3', 'F8_E4M3', (2,), bytes([0x38, 0xff])),
    ]
    write(os.path.join(HERE, 'plain.safetensors'), plain, {'format': 'pt'})
    q = [(i % 16) - 8 for i in range(15)]
    effc = [
        ('q', 'U8', (8,), pack_int4(q)),
        ('s', 'U8', None, pack_strings(['ab', 'h\u00e9llo', ''])),
        ('c', 'U8', (16,), np.array([1 + 2j, -0.5 + 0.25j], '<c8').tobytes()),
        ('w', 'F32', (2,), np.array([3.0, 4.0], '<f4').tobytes()),
    ]
    effc = [(n, d, s if s is not None else (len(r),), r) for n, d, s, r in effc]
    write(os.path.join(HERE, 'effc_types.safetensors'), effc,
          {'format': 'pt', 'effc.type.q': 'int4[3,5]', 'effc.type.s': 'string[3]',
           'effc.type.c': 'complex64[2]', 'note': 'written by gen.py'})
    return 0


if __name__ == '__main__':
    sys.exit(main())
