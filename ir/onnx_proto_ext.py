#!/usr/bin/env python3
# onnx_proto_ext.py - extend Debian's ONNX 1.12 schema (IR 8) with the declarations ONNX added
# since (IR 9-13: overloads, metadata_props, device configurations, attribute defaults of
# functions, opaque types, the newer element types) and the onnx-data messages (SequenceProto,
# MapProto, OptionalProto), so protoc-c reads them as fields instead of unknown bytes.
# Usage: onnx_proto_ext.py IN.proto OUT.proto. Standard library only. Every anchor it patches
# must exist; anything unexpected (a message missing, a field number taken by another name)
# stops the build with a message naming it.
import re
import sys

TAG = "  // effc: added by onnx_proto_ext.py"


class SchemaError(Exception):
    pass


def shadow_of(text):
    """Same-length copy of text with comments and string literals blanked out, so regular
    expressions and brace counting see only declarations."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise SchemaError("unterminated /* comment")
            for k in range(i, j + 2):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise SchemaError("unterminated string literal")
            for k in range(i + 1, j):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


class Schema:
    def __init__(self, text):
        self.text = text

    @property
    def sh(self):
        return shadow_of(self.text)

    def close_of(self, sh, open_idx):
        """Index of the '}' matching the '{' at open_idx."""
        depth = 0
        for k in range(open_idx, len(sh)):
            if sh[k] == "{":
                depth += 1
            elif sh[k] == "}":
                depth -= 1
                if depth == 0:
                    return k
        raise SchemaError("unbalanced braces after offset %d" % open_idx)

    def block(self, kind, name, within=None):
        """(open, close) of `kind name {` directly inside `within` (a block) or at top level."""
        sh = self.sh
        lo, hi = (0, len(sh)) if within is None else (within[0] + 1, within[1])
        found = []
        for mt in re.finditer(r"\b%s\s+%s\s*\{" % (kind, re.escape(name)), sh[lo:hi]):
            start = lo + mt.start()
            if self.depth_at(sh, lo, start) == 0:
                found.append((lo + mt.end() - 1))
        if len(found) > 1:
            raise SchemaError("%s %s declared %d times" % (kind, name, len(found)))
        if not found:
            return None
        return (found[0], self.close_of(sh, found[0]))

    def need(self, kind, name, within=None, where="the schema"):
        b = self.block(kind, name, within)
        if b is None:
            raise SchemaError("anchor missing: %s %s in %s" % (kind, name, where))
        return b

    @staticmethod
    def depth_at(sh, lo, pos):
        d = 0
        for k in range(lo, pos):
            if sh[k] == "{":
                d += 1
            elif sh[k] == "}":
                d -= 1
        return d

    def members(self, blk, enum=False):
        """{name: number} of the fields (or enum values) declared directly in blk, oneof
        members included, plus the set of reserved numbers."""
        sh = self.sh
        lo, hi = blk[0] + 1, blk[1]
        body = sh[lo:hi]
        # depth of each position relative to the block; oneof bodies count as depth 0
        allowed = [False] * len(body)
        stack = []  # True for oneof blocks
        for k, c in enumerate(body):
            if c == "{":
                head = body[:k].rstrip()
                stack.append(re.search(r"\boneof\s+\w+$", head) is not None)
            elif c == "}":
                stack.pop()
            allowed[k] = all(stack)
        if enum:
            pat = r"(?<![\w.])([A-Za-z_]\w*)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*[;\[]"
        else:
            pat = r"\b([A-Za-z_]\w*)\s*=\s*(\d+)\s*[;\[]"
        fields = {}
        for mt in re.finditer(pat, body):
            if not allowed[mt.start()]:
                continue
            if not enum and re.search(r"\boption\s*$", body[:mt.start()]):
                continue
            fields[mt.group(1)] = int(mt.group(2), 0)
        reserved = set()
        for mt in re.finditer(r"\breserved\s+([^;]*);", body):
            if not allowed[mt.start()]:
                continue
            for part in mt.group(1).split(","):
                part = part.strip()
                r = re.fullmatch(r"(\d+)\s+to\s+(\d+)", part)
                if r:
                    reserved.update(range(int(r.group(1)), int(r.group(2)) + 1))
                elif part.isdigit():
                    reserved.add(int(part))
        return fields, reserved

    def insert_before_close(self, blk, lines):
        close = blk[1]
        # insert at the start of the line holding the closing brace
        ls = self.text.rfind("\n", 0, close) + 1
        same_line = bool(self.text[ls:close].strip())
        indent = re.match(r"[ \t]*", self.text[ls:close]).group(0)
        add = "".join(indent + "  " + ln + "\n" for ln in lines)
        if same_line:  # "... }" with declarations before it on the line
            ls = close
            add = "\n" + add + indent
        self.text = self.text[:ls] + add + self.text[ls:]

    def add_field(self, path, decl, name, number, enum=False, oneof=None):
        """Declare `decl` (e.g. 'optional string overload = 8;') in the message (or enum)
        reached through path, unless a field of that name and number is already there."""
        blk = None
        for kind, nm in path:
            blk = self.need(kind, nm, blk, where=".".join(p[1] for p in path))
        where = ".".join(p[1] for p in path)
        fields, reserved = self.members(blk, enum=enum)
        if name in fields:
            if fields[name] != number:
                raise SchemaError("%s.%s is already declared with number %d, expected %d"
                                  % (where, name, fields[name], number))
            return False
        for other, num in fields.items():
            if num == number:
                raise SchemaError("%s: number %d is taken by %s, cannot add %s"
                                  % (where, number, other, name))
        if number in reserved:
            raise SchemaError("%s: number %d is reserved, cannot add %s" % (where, number, name))
        target = blk if oneof is None else self.need("oneof", oneof, blk, where)
        self.insert_before_close(target, [decl + TAG])
        return True

    def add_message(self, name, body, within=None):
        """Add `message name { body }` at top level (or in the message path `within`)
        unless a message of that name exists there."""
        blk = None
        for nm in within or []:
            blk = self.need("message", nm, blk)
        if self.block("message", name, blk) is not None:
            return False
        lines = ["message %s {%s" % (name, TAG)] + ["  " + ln for ln in body] + ["}"]
        if blk is None:
            self.text = self.text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
        else:
            self.insert_before_close(blk, lines)
        return True


# Messages added since ONNX 1.12, with field numbers from ONNX's IR specification.
NEW_MESSAGES = [
    ("IntIntListEntryProto", [
        "optional int64 key = 1;",
        "repeated int64 value = 2;",
    ]),
    ("DeviceConfigurationProto", [
        "optional string name = 1;",
        "optional int32 num_devices = 2;",
        "repeated string device = 3;",
    ]),
    ("SimpleShardedDimProto", [
        "oneof dim {",
        "  int64 dim_value = 1;",
        "  string dim_param = 2;",
        "}",
        "optional int64 num_shards = 3;",
    ]),
    ("ShardedDimProto", [
        "optional int64 axis = 1;",
        "repeated SimpleShardedDimProto simple_sharding = 2;",
    ]),
    ("ShardingSpecProto", [
        "optional string tensor_name = 1;",
        "repeated int64 device = 2;",
        "repeated IntIntListEntryProto index_to_device_group_map = 3;",
        "repeated ShardedDimProto sharded_dim = 4;",
    ]),
    ("NodeDeviceConfigurationProto", [
        "optional string configuration_id = 1;",
        "repeated ShardingSpecProto sharding_spec = 2;",
        "optional int32 pipeline_stage = 3;",
    ]),
    # onnx-data.proto (not part of Debian's onnx.proto): .pb inputs and outputs
    ("SequenceProto", [
        "optional string name = 1;",
        "optional int32 elem_type = 2;",
        "repeated TensorProto tensor_values = 3;",
        "repeated SparseTensorProto sparse_tensor_values = 4;",
        "repeated SequenceProto sequence_values = 5;",
        "repeated MapProto map_values = 6;",
        "repeated OptionalProto optional_values = 7;",
    ]),
    ("MapProto", [
        "optional string name = 1;",
        "optional int32 key_type = 2;",
        "repeated int64 keys = 3;",
        "repeated bytes string_keys = 4;",
        "optional SequenceProto values = 5;",
    ]),
    ("OptionalProto", [
        "optional string name = 1;",
        "optional int32 elem_type = 2;",
        "optional TensorProto tensor_value = 3;",
        "optional SparseTensorProto sparse_tensor_value = 4;",
        "optional SequenceProto sequence_value = 5;",
        "optional MapProto map_value = 6;",
        "optional OptionalProto optional_value = 7;",
    ]),
]

M = "message"

# (path, declaration, name, number)
NEW_FIELDS = [
    ([(M, "NodeProto")], "optional string overload = 8;", "overload", 8),
    ([(M, "NodeProto")], "repeated StringStringEntryProto metadata_props = 9;", "metadata_props", 9),
    ([(M, "NodeProto")], "repeated NodeDeviceConfigurationProto device_configurations = 10;",
     "device_configurations", 10),
    ([(M, "ValueInfoProto")], "repeated StringStringEntryProto metadata_props = 4;",
     "metadata_props", 4),
    ([(M, "GraphProto")], "repeated StringStringEntryProto metadata_props = 16;",
     "metadata_props", 16),
    ([(M, "TensorProto")], "repeated StringStringEntryProto metadata_props = 16;",
     "metadata_props", 16),
    ([(M, "FunctionProto")], "repeated AttributeProto attribute_proto = 11;", "attribute_proto", 11),
    ([(M, "FunctionProto")], "repeated ValueInfoProto value_info = 12;", "value_info", 12),
    ([(M, "FunctionProto")], "optional string overload = 13;", "overload", 13),
    ([(M, "FunctionProto")], "repeated StringStringEntryProto metadata_props = 14;",
     "metadata_props", 14),
    ([(M, "ModelProto")], "repeated DeviceConfigurationProto configuration = 26;",
     "configuration", 26),
]

NEW_DATA_TYPES = [
    ("FLOAT8E4M3FN", 17), ("FLOAT8E4M3FNUZ", 18), ("FLOAT8E5M2", 19), ("FLOAT8E5M2FNUZ", 20),
    ("UINT4", 21), ("INT4", 22), ("FLOAT4E2M1", 23), ("FLOAT8E8M0", 24), ("UINT2", 25),
    ("INT2", 26),
]


def extend(text):
    s = Schema(text)
    if not re.search(r'^\s*syntax\s*=\s*"proto2"\s*;', s.text, re.M):
        raise SchemaError('anchor missing: syntax = "proto2"')
    if not re.search(r"^\s*package\s+onnx\s*;", s.sh, re.M):
        raise SchemaError("anchor missing: package onnx")
    for name, body in NEW_MESSAGES:
        s.add_message(name, body)
    for path, decl, name, number in NEW_FIELDS:
        s.add_field(path, decl, name, number)
    # TypeProto.Opaque (the ONNX-ML variant of the schema has it; Debian's plain one lacks it)
    s.add_message("Opaque", ["optional string domain = 1;", "optional string name = 2;"],
                  within=["TypeProto"])
    s.add_field([(M, "TypeProto")], "Opaque opaque_type = 7;", "opaque_type", 7, oneof="value")
    for name, number in NEW_DATA_TYPES:
        s.add_field([(M, "TensorProto"), ("enum", "DataType")], "%s = %d;" % (name, number),
                    name, number, enum=True)
    return s.text


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: onnx_proto_ext.py IN.proto OUT.proto\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        out = extend(text)
    except SchemaError as e:
        sys.stderr.write("onnx_proto_ext.py: %s: %s\n" % (argv[1], e))
        return 1
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
