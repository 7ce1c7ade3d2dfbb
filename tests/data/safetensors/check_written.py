#!/usr/bin/python3
"""Check a safetensors file test_safetensors.c wrote (argv[1]) with an independent reader
(json + struct + numpy): the layout rules Hugging Face's reader enforces (header starts with
'{', UTF-8, data contiguous from 0 to the end of the file, sizes = numel x dtype size), effc's
4096-byte alignment of the data section and its conventions for types safetensors cannot
name, and the values test_safetensors.c put in. Exit status 0 if everything matches."""
import json
import struct
import sys

import numpy as np

SIZES = {'BOOL': 1, 'U8': 1, 'I8': 1, 'F8_E4M3': 1, 'F8_E5M2': 1, 'F8_E8M0': 1, 'I16': 2, 'U16': 2,
         'F16': 2, 'BF16': 2, 'I32': 4, 'U32': 4, 'F32': 4, 'I64': 8, 'U64': 8, 'F64': 8}
NP = {'BOOL': '?', 'U8': 'u1', 'I8': 'i1', 'I16': '<i2', 'U16': '<u2', 'F16': '<f2', 'BF16': '<u2',
      'I32': '<i4', 'U32': '<u4', 'F32': '<f4', 'I64': '<i8', 'U64': '<u8', 'F64': '<f8',
      'F8_E4M3': 'u1', 'F8_E5M2': 'u1', 'F8_E8M0': 'u1'}

# what test_safetensors.c writes: name -> (onnx type text, numpy array of the expected values
# or raw bytes or list of str)
EXPECTED = {
    'w': ('float[2,3]', np.arange(6, dtype='<f4').reshape(2, 3) * np.float32(0.5)),
    'b': ('float[17]', np.arange(17, dtype='<f4') - np.float32(8)),
    'ids': ('int64[3]', np.array([1, -2, 3], '<i8')),
    'h': ('float16[3]', np.array([1.5, -2.0, 0.25], '<f2')),
    'q': ('int4[3,5]', [(i % 16) - 8 for i in range(15)]),
    's': ('string[2]', ['ab', 'h\u00e9llo']),
    'c': ('complex64[2]', np.array([1 + 2j, -0.5 + 0.25j], '<c8')),
    'e': ('uint8[0]', np.zeros(0, 'u1')),
    'f8': ('float8e4m3fn[4]', np.array([0x00, 0x7e, 0xff, 0x38], 'u1')),
    'bf': ('bfloat16[2]', np.array([0x3f80, 0xc040], '<u2')),
    'dbl': ('double[]', np.array(2.5, '<f8')),
    'odd "name"\\\n\u00e9': ('int8[3]', np.array([1, 2, 3], 'i1')),
}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main(path):
    buf = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', buf[:8])
    raw = buf[8:8 + n]
    if (8 + n) % 4096:
        fail('data section starts at %d, not a multiple of 4096' % (8 + n))
    if raw[:1] != b'{':
        fail('header does not start with {')
    text = raw.decode('utf-8')
    hdr = json.loads(text)
    if not text.rstrip(' ').endswith('}'):
        fail('header padding is not spaces')
    data = buf[8 + n:]
    meta = hdr.pop('__metadata__', {})
    if meta.get('format') != 'pt':
        fail('__metadata__ has no "format": "pt"')
    # Hugging Face's reader: sorted by offsets, contiguous, ending at the end of the file
    ents = sorted(hdr.items(), key=lambda kv: tuple(kv[1]['data_offsets']))
    pos = 0
    for name, e in ents:
        b, end = e['data_offsets']
        if b != pos:
            fail('%r starts at %d, expected %d (gap or overlap)' % (name, b, pos))
        if (end - b) != int(np.prod(e['shape'], dtype=np.int64)) * SIZES[e['dtype']]:
            fail('%r: size does not match shape x dtype' % name)
        align = {'F64': 8, 'I64': 8, 'U64': 8, 'F32': 4, 'I32': 4, 'U32': 4, 'F16': 2, 'BF16': 2,
                 'I16': 2, 'U16': 2}.get(e['dtype'], 1)
        if b % align:
            fail('%r at %d is not aligned to %d' % (name, b, align))
        pos = end
    if pos != len(data):
        fail('data section is %d bytes but tensors cover %d' % (len(data), pos))
    if set(hdr) != set(EXPECTED):
        fail('tensor names %s, expected %s' % (sorted(hdr), sorted(EXPECTED)))
    for name, (ty, want) in EXPECTED.items():
        e = hdr[name]
        b, end = e['data_offsets']
        blob = data[b:end]
        key = 'effc.type.' + name
        elem, shape = ty.split('[')
        shape = [int(x) for x in shape.rstrip(']').split(',') if x]
        if elem in ('int4', 'string', 'complex64'):
            if e['dtype'] != 'U8' or e['shape'] != [len(blob)] or meta.get(key) != ty:
                fail('%r: expected U8 [%d] with %s = %s, got %r / %r' % (name, len(blob), key, ty, e, meta.get(key)))
            if elem == 'int4':
                got = []
                for byte in blob:
                    for v in (byte & 15, byte >> 4):
                        got.append(v - 16 if v >= 8 else v)
                got = got[:15]
                ok = got == want
            elif elem == 'string':
                cnt = int(np.prod(shape))
                lens = struct.unpack('<%dQ' % cnt, blob[:8 * cnt])
                at, got = 8 * cnt, []
                for ln in lens:
                    got.append(blob[at:at + ln].decode('utf-8'))
                    at += ln
                ok = got == want and at == len(blob)
            else:
                ok = blob == want.tobytes()
        else:
            if key in meta:
                fail('%r: unexpected %s' % (name, key))
            if e['shape'] != shape:
                fail('%r: shape %r, expected %r' % (name, e['shape'], shape))
            got = np.frombuffer(blob, dtype=NP[e['dtype']]).reshape(shape)
            ok = got.tobytes() == want.tobytes()
        if not ok:
            fail('%r: values differ' % name)
    print('ok: %d tensors' % len(EXPECTED), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
