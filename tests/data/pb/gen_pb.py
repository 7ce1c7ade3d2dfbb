#!/usr/bin/python3
# gen_pb.py - writes the .pb fixtures of tests/unit/test_pb.c with Debian's python3-onnx 1.12
# (run: /usr/bin/python3 gen_pb.py, in this folder). The literal values here are the golden
# values that test_pb.c checks.
import os

import numpy as np
from onnx import MapProto, TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(msg, name):
    data = msg.SerializeToString()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print("wrote %s (%d bytes)" % (name, len(data)))


def main():
    # TensorProto: raw_data, typed fields, strings
    save(numpy_helper.from_array(np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], np.float32), "x"),
         "tensor_f32.pb")
    save(helper.make_tensor("i", TensorProto.INT32, [4], [1, -1, 2147483647, -2147483648]),
         "tensor_i32_typed.pb")
    save(helper.make_tensor("s", TensorProto.STRING, [3], [b"ab", b"", b"\xc3\xa9"]), "tensor_str.pb")
    save(helper.make_tensor("u", TensorProto.UINT16, [2], [65535, 7]), "tensor_u16_typed.pb")
    # SequenceProto of two int64 tensors of different lengths
    save(numpy_helper.from_list([np.array([1, 2, 3], np.int64), np.array([4], np.int64)], "seq"),
         "seq_i64.pb")
    # a sequence of sequences of float tensors
    inner1 = numpy_helper.from_list([np.array([1.0], np.float32)], "a")
    inner2 = numpy_helper.from_list([np.array([2.0, 3.0], np.float32), np.array([4.0], np.float32)], "b")
    outer = helper.make_sequence("nested", 3, [inner1, inner2])  # 3 = SequenceProto.SEQUENCE
    save(outer, "seq_seq.pb")
    # OptionalProto holding a tensor, and an empty one
    save(numpy_helper.from_optional(np.array([9.0, 8.0], np.float32), "opt"), "opt_tensor.pb")
    save(numpy_helper.from_optional(None, "none"), "opt_empty.pb")
    # MapProto int64 -> float tensors
    # (numpy_helper.from_dict is broken in 1.12: build the MapProto by hand)
    m = MapProto(name="map", key_type=TensorProto.INT64, keys=[10, 20])
    m.values.CopyFrom(numpy_helper.from_list([np.array([1.0], np.float32), np.array([2.0], np.float32)]))
    save(m, "map_i64.pb")


if __name__ == "__main__":
    main()
