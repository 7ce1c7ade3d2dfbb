#!/usr/bin/python3
# gen_fixtures.py - writes the .onnx fixtures of tests/unit/test_onnx.c and the checker test
# with Debian's python3-onnx 1.12 (run: /usr/bin/python3 gen_fixtures.py, in this folder).
# Fields newer than ONNX 1.12 (overloads, metadata_props, attribute defaults of functions,
# device configurations, int4/int2/float8 tensors) are appended as hand-encoded wire bytes,
# which protobuf keeps as unknown fields. The literal values here are the golden values that
# test_onnx.c checks.
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- hand encoding of wire data (field numbers from ONNX's IR specification)
def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b


def entry(k, v):  # StringStringEntryProto
    return f_bytes(1, k) + f_bytes(2, v)


def add_raw(msg, raw):
    msg.MergeFromString(raw)


def save(m, name):
    data = m.SerializeToString()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print("wrote %s (%d bytes)" % (name, len(data)))


def tensor_type(elem, shape):
    return helper.make_tensor_type_proto(elem, shape)


# ---------------------------------------------------------------- features.onnx
def features():
    f32 = TensorProto.FLOAT
    W = numpy_helper.from_array(np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], np.float32), "W")
    I64 = helper.make_tensor("I64", TensorProto.INT64, [3], [1, -2, 3])
    STR = helper.make_tensor("STR", TensorProto.STRING, [2], [b"a", b"b\x00c"])
    H = helper.make_tensor("H", TensorProto.FLOAT16, [2], [1.0, -2.0])  # int32_data 0x3C00, 0xC000
    B = helper.make_tensor("B", TensorProto.BOOL, [3], [True, False, True])
    D = helper.make_tensor("D", TensorProto.DOUBLE, [2], [0.5, -0.25])
    U32 = helper.make_tensor("U32", TensorProto.UINT32, [2], [1, 4000000000])
    U64 = helper.make_tensor("U64", TensorProto.UINT64, [1], [2**64 - 1])
    C64 = helper.make_tensor("C64", TensorProto.COMPLEX64, [2], [1 + 2j, 3 - 4j])
    BF = helper.make_tensor("BF", TensorProto.BFLOAT16, [2], [1.0, -2.0])  # 0x3F80, 0xC000
    I8 = helper.make_tensor("I8", TensorProto.INT8, [3], [-1, 0, 127])
    EMPTY = numpy_helper.from_array(np.zeros((0,), np.float32), "EMPTY")
    # newer element types, packed as ONNX specifies: int4 [0,1,7,-4,-8] in 3 int32_data bytes,
    # uint2 [0,1,2,3,1] in 2, float8e4m3fn [1.0, -2.0] one per entry
    I4 = TensorProto(name="I4", data_type=22, dims=[5], int32_data=[0x10, 0xC7, 0x08])
    U2 = TensorProto(name="U2", data_type=25, dims=[5], int32_data=[0xE4, 0x01])
    F8 = TensorProto(name="F8", data_type=17, dims=[2], int32_data=[0x38, 0xC0])
    EXT = TensorProto(name="EXT", data_type=f32, dims=[4])
    for k, v in (("location", "w.bin"), ("offset", "0"), ("length", "16")):
        e = EXT.external_data.add()
        e.key, e.value = k, v
    EXT.data_location = TensorProto.EXTERNAL
    # segment (known, unmodelled) and metadata_props (field 16, newer)
    SEG = numpy_helper.from_array(np.array([7], np.int32), "SEG")
    SEG.segment.begin = 0
    SEG.segment.end = 1
    add_raw(SEG, f_bytes(16, entry("tk", "tv")))
    SP = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([5.0, 6.0], np.float32), "SP"),
        numpy_helper.from_array(np.array([1, 4], np.int64), "SP_idx"),
        [2, 3])

    # subgraphs for If: they read A from the enclosing graph
    then_g = helper.make_graph(
        [helper.make_node("Identity", ["A"], ["t_out"], name="then_id")], "then_g", [],
        [helper.make_tensor_value_info("t_out", f32, ["N", 3])])
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["A"], ["e_out"])], "else_g", [],
        [helper.make_tensor_value_info("e_out", f32, ["N", 3])])
    attr_g = helper.make_graph([], "attr_g", [helper.make_tensor_value_info("gi", f32, [])],
                               [helper.make_tensor_value_info("gi", f32, [])])
    sparse_attr = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([9], np.int64), "sv"),
        numpy_helper.from_array(np.array([0], np.int64), "si"), [3])

    every = helper.make_node("Everything", ["A", "", "Z"], ["E1", ""], name="every",
                             domain="com.example", doc_string="node doc")
    attrs = [
        helper.make_attribute("f", 1.5),
        helper.make_attribute("i", -7),
        helper.make_attribute("s", b"str"),
        helper.make_attribute("t", helper.make_tensor("tv", TensorProto.INT32, [2], [10, 20])),
        helper.make_attribute("g", attr_g),
        helper.make_attribute("floats", [1.0, 2.5]),
        helper.make_attribute("ints", [1, 2, 3]),
        helper.make_attribute("strings", [b"x", b"y"]),
        helper.make_attribute("tensors", [helper.make_tensor("ta", TensorProto.FLOAT, [1], [4.0]),
                                          helper.make_tensor("tb", TensorProto.INT64, [1], [5])]),
        helper.make_attribute("graphs", [attr_g]),
        helper.make_attribute("sparse", sparse_attr),
        helper.make_attribute("sparses", [sparse_attr]),
    ]
    tp = helper.make_attribute("tp", tensor_type(f32, [2]))
    tps = helper.make_attribute("tps", [helper.make_sequence_type_proto(tensor_type(TensorProto.INT64, None))])
    every.attribute.extend(attrs + [tp, tps])
    every.attribute.append(helper.make_attribute("__effc_tile", 16))
    add_raw(every, f_varint(99, 5))  # unknown field

    call = helper.make_node("MyFunc", ["A"], ["F"], name="call", domain="com.example", alpha=2.0)
    dev = f_bytes(1, "cfg") + f_varint(3, 1)  # NodeDeviceConfigurationProto
    add_raw(call, f_bytes(8, "ov1") + f_bytes(9, entry("nk", "nv")) + f_bytes(10, dev))

    nodes = [
        helper.make_node("Add", ["X", "W"], ["A"], name="add0", doc_string="add doc"),
        every,
        helper.make_node("If", ["C"], ["IFO"], name="if0", then_branch=then_g, else_branch=else_g),
        call,
        helper.make_node("Add", ["IFO", "F"], ["Y"]),
    ]
    X = helper.make_tensor_value_info("X", f32, ["N", 3], doc_string="x doc")
    X.type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
    add_raw(X, f_bytes(4, entry("vk", "vv")))
    mtype = onnx.TypeProto()
    mtype.map_type.key_type = TensorProto.INT64
    mtype.map_type.value_type.CopyFrom(tensor_type(f32, [1]))
    opaque = onnx.TypeProto()
    opaque.opaque_type.domain = "effc.qc"
    opaque.opaque_type.name = "qubits"
    inputs = [
        X,
        helper.make_tensor_value_info("C", TensorProto.BOOL, []),
        helper.make_tensor_value_info("Z", f32, None),
        helper.make_value_info("S", helper.make_sequence_type_proto(tensor_type(TensorProto.INT64, [None]))),
        helper.make_value_info("O", helper.make_optional_type_proto(tensor_type(f32, [2]))),
        helper.make_value_info("M", mtype),
        helper.make_value_info("Q", opaque),
        helper.make_tensor_value_info("W", f32, [2, 3]),
    ]
    g = helper.make_graph(
        nodes, "features", inputs, [helper.make_tensor_value_info("Y", f32, ["N", 3])],
        initializer=[W, I64, STR, H, B, D, U32, U64, C64, BF, I8, EMPTY, I4, U2, F8, EXT, SEG],
        doc_string="graph doc",
        value_info=[helper.make_tensor_value_info("A", f32, ["N", 3]),
                    helper.make_tensor_value_info("E1", f32, None)],
        sparse_initializer=[SP])
    qa = g.quantization_annotation.add()
    qa.tensor_name = "A"
    add_raw(g, f_bytes(16, entry("gk", "gv")))

    # model-local function with a referenced attribute; newer fields as raw bytes
    cnode = helper.make_node("Constant", [], ["c"])
    ref = onnx.AttributeProto(name="value_float", ref_attr_name="alpha", type=onnx.AttributeProto.FLOAT)
    cnode.attribute.append(ref)
    fn = helper.make_function("com.example", "MyFunc", ["x"], ["y"],
                              [cnode, helper.make_node("Mul", ["x", "c"], ["y"])],
                              [helper.make_opsetid("", 13)], ["alpha"])
    fn.doc_string = "func doc"
    beta = helper.make_attribute("beta", 3).SerializeToString()
    yvi = helper.make_tensor_value_info("y", f32, None).SerializeToString()
    add_raw(fn, f_bytes(11, beta) + f_bytes(12, yvi) + f_bytes(13, "ov1") + f_bytes(14, entry("fk", "fv")))

    m = helper.make_model(g, producer_name="effc-fixture", producer_version="1.0",
                          opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)],
                          functions=[fn], doc_string="model doc", domain="org.effc.test", model_version=7)
    m.ir_version = 8
    helper.set_model_props(m, {"author": "effc", "license": "Apache-2.0"})
    ti = m.training_info.add()
    ti.initialization.name = "init"
    add_raw(m, f_bytes(26, f_bytes(1, "cfg") + f_varint(2, 2)) + f_bytes(77, "zz"))
    save(m, "features.onnx")


# ---------------------------------------------------------------- checker fixtures (IR 8)
def checker_models():
    f32 = TensorProto.FLOAT
    rng = np.random.default_rng(0)
    # a small convnet
    nodes = [
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu0"),
        helper.make_node("Reshape", ["r", "flat_shape"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1, alpha=1.0, beta=1.0),
    ]
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(np.zeros(4, np.float32), "conv_b"),
        numpy_helper.from_array(rng.standard_normal((10, 4 * 8 * 8)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(np.zeros(10, np.float32), "fc_b"),
        helper.make_tensor("flat_shape", TensorProto.INT64, [2], [1, -1]),
    ]
    g = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("x", f32, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", f32, [1, 10])], initializer=inits)
    m = helper.make_model(g, producer_name="effc-fixture", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    save(m, "convnet.onnx")

    # control flow, a function, strings, typed-field tensors, a sparse initializer
    body = helper.make_graph(
        [helper.make_node("Add", ["v_in", "one"], ["v_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", f32, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", f32, [2])])
    then_g = helper.make_graph([helper.make_node("Identity", ["lo"], ["a"])], "then_g", [],
                               [helper.make_tensor_value_info("a", f32, [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["lo"], ["b"])], "else_g", [],
                               [helper.make_tensor_value_info("b", f32, [2])])
    fn = helper.make_function("local", "Scale", ["x"], ["y"],
                              [helper.make_node("Mul", ["x", "x"], ["y"])],
                              [helper.make_opsetid("", 13)], [])
    nodes = [
        helper.make_node("Loop", ["trip", "cond", "v0"], ["lo"], body=body),
        helper.make_node("If", ["cond"], ["io"], then_branch=then_g, else_branch=else_g),
        helper.make_node("Scale", ["io"], ["sc"], domain="local"),
        helper.make_node("Identity", ["words"], ["wout"]),
        helper.make_node("Add", ["sc", "dense"], ["y"]),
    ]
    sp = helper.make_sparse_tensor(numpy_helper.from_array(np.array([3.0], np.float32), "dense"),
                                   numpy_helper.from_array(np.array([1], np.int64), "dense_idx"), [2])
    g = helper.make_graph(
        nodes, "control",
        [helper.make_tensor_value_info("trip", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v0", f32, [2])],
        [helper.make_tensor_value_info("y", f32, [2]),
         helper.make_tensor_value_info("wout", TensorProto.STRING, [2])],
        initializer=[helper.make_tensor("one", f32, [2], [1.0, 1.0]),
                     helper.make_tensor("words", TensorProto.STRING, [2], [b"hello", b"w\xc3\xb6rld"])],
        sparse_initializer=[sp])
    m = helper.make_model(g, producer_name="effc-fixture",
                          opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("local", 1)],
                          functions=[fn])
    m.ir_version = 8
    onnx.checker.check_model(m)
    save(m, "control.onnx")

    # a model above 64 KB (fuzz seed and large-payload import)
    w = numpy_helper.from_array(np.arange(128 * 160, dtype=np.float32).reshape(128, 160) / 7.0, "big_w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "big_w"], ["y"])], "big",
                          [helper.make_tensor_value_info("x", f32, [1, 128])],
                          [helper.make_tensor_value_info("y", f32, [1, 160])], initializer=[w])
    m = helper.make_model(g, producer_name="effc-fixture", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    save(m, "big.onnx")


# ---------------------------------------------------------------- a graph-valued attribute default
def func_graph_default():
    f32 = TensorProto.FLOAT
    sub = helper.make_graph([helper.make_node("Identity", ["a"], ["b"])], "sub",
                            [helper.make_tensor_value_info("a", f32, [])],
                            [helper.make_tensor_value_info("b", f32, [])])
    fn = helper.make_function("d", "F", ["x"], ["y"], [helper.make_node("Identity", ["x"], ["y"])],
                              [helper.make_opsetid("", 13)], [])
    add_raw(fn, f_bytes(11, helper.make_attribute("body", sub).SerializeToString()))
    g = helper.make_graph([helper.make_node("F", ["x"], ["y"], domain="d")], "g",
                          [helper.make_tensor_value_info("x", f32, [])],
                          [helper.make_tensor_value_info("y", f32, [])])
    m = helper.make_model(g, functions=[fn], opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("d", 1)])
    m.ir_version = 8
    save(m, "func_graph_default.onnx")


if __name__ == "__main__":
    features()
    func_graph_default()
    checker_models()
