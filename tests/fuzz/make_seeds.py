#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/).

Small valid files of each format plus a few edge cases; libFuzzer mutates
from these. The files are committed; rerun this script only to change them.
The kilnc_ir seeds are hand-written .mlir files kept in the corpus folder.
"""
import gzip
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def idx(type_code, dims, payload):
    head = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + payload


def idx_seeds():
    put("idx", "u8-1d", idx(0x08, [3], bytes([1, 2, 3])))
    put("idx", "u8-2x2", idx(0x08, [2, 2], bytes([0, 255, 7, 9])))
    put("idx", "f32-2", idx(0x0D, [2], struct.pack(">ff", 1.5, -2.0)))
    put("idx", "i16-3", idx(0x0B, [3], struct.pack(">hhh", -1, 0, 300)))
    put("idx", "f64-1x1", idx(0x0E, [1, 1], struct.pack(">d", 3.25)))
    put("idx", "u8-gz", gzip.compress(idx(0x08, [2, 3], bytes(range(6))), mtime=0))
    put("idx", "zero-dim", idx(0x08, [0, 5], b""))
    put("idx", "truncated", idx(0x0C, [4], struct.pack(">i", 1)))
    put("idx", "trailing", idx(0x08, [1], b"\x01\x02"))
    put("idx", "bad-type", idx(0x07, [1], b"\x01"))


def npy(descr, shape, payload, fortran=False, version=1):
    """A .npy file as numpy writes it (header padded to 64 bytes, '\\n')."""
    dims = "".join(f"{d}, " for d in shape) if len(shape) == 1 else ", ".join(map(str, shape))
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({dims}), }}"
    length_bytes = 2 if version == 1 else 4
    pad = -(10 + length_bytes - 2 + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode()
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + payload


def npy_seeds():
    put("npy", "f4-2x3.npy", npy("<f4", [2, 3], struct.pack("<6f", *range(6))))
    put("npy", "i8-3.npy", npy("<i8", [3], struct.pack("<3q", -1, 0, 7)))
    put("npy", "i4-2.npy", npy("<i4", [2], struct.pack("<2i", 3, 4)))
    put("npy", "u1-4.npy", npy("|u1", [4], bytes([0, 1, 2, 255])))
    put("npy", "b1-2.npy", npy("|b1", [2], bytes([1, 0])))
    put("npy", "f8-scalar.npy", npy("<f8", [], struct.pack("<d", 2.5)))
    put("npy", "f4-empty.npy", npy("<f4", [0, 4], b""))
    put("npy", "v2.npy", npy("<f4", [1], struct.pack("<f", 1.0), version=2))
    put("npy", "fortran.npy", npy("<f4", [2, 2], struct.pack("<4f", 1, 1, 1, 1), fortran=True))
    put("npy", "big-endian.npy", npy(">f4", [1], struct.pack(">f", 1.0)))
    put("npy", "truncated.npy", npy("<f8", [4], struct.pack("<4d", 0, 1, 2, 3))[:-3])


def csv_seeds():
    put("csv", "class-index.csv", "a,b,label\n1.5,2,0\n-3,4e2,1\n0,0,2.0\n")
    put("csv", "class-name.csv", "label,a,b\ncat,1,2\ndog,3,4\ncat,5,6\n")
    put("csv", "regression.csv", "a,b,label\n0.5,1,2.25\n1,2,-3.5\n")
    put("csv", "quoted.csv", '"a","b","label"\n" 1",\t"2",0\r\n"3","4","1"\n')
    put("csv", "semicolons.csv", "a;b;label\n1;2;0\n3;4;1\n")
    put("csv", "ragged.csv", "a,b,label\n1,2\n3,4,5,6\n")
    put("csv", "nan-inf.csv", "a,b,label\nnan,inf,0\n-inf,1e39,1\n")
    put("csv", "empty-fields.csv", "a,b,label\n,,\n\n1,2,\n")
    put("csv", "unterminated.csv", 'a,b,label\n"1,2,0\n')
    put("csv", "header-only.csv", "a,b,label\n")


# Names, dtypes and shapes of fuzz_safetensors.cpp's state table.
STATE = [
    ("fc.weight", "F32", [2, 3], "f"),
    ("fc.bias", "F32", [3], "f"),
    ("scale", "F64", [3], "d"),
    ("index", "I32", [3], "i"),
    ("steps", "I64", [], "q"),
    ("fc.weight.momentum_buffer", "F32", [2, 3], "f"),
]


def safetensors(tensors, metadata=None, header_override=None):
    header, data = {}, b""
    for name, dtype, shape, fmt in tensors:
        count = 1
        for d in shape:
            count *= d
        raw = struct.pack("<" + str(count) + fmt, *range(count))
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_override if header_override is not None else json.dumps(header)
    text = text.encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    put("safetensors", "full.safetensors", safetensors(STATE, {"step": "10"}))
    put("safetensors", "parameters.safetensors",
        safetensors([t for t in STATE if "momentum" not in t[0]]))
    put("safetensors", "extra.safetensors",
        safetensors(STATE + [("other", "F32", [1], "f")]))
    put("safetensors", "wrong-dtype.safetensors",
        safetensors([("fc.weight", "F64", [2, 3], "d")] + STATE[1:]))
    put("safetensors", "overlap.safetensors", safetensors([], header_override=json.dumps(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})) + bytes(12))
    put("safetensors", "bad-json.safetensors",
        safetensors([], header_override='{"fc.bias": {"dtype": "F32", "shape": [3,'))
    put("safetensors", "escapes.safetensors", safetensors([], header_override=json.dumps(
        {"__metadata__": {"k\u00e9y\n": "\ud83d\ude00 \"q\""}})))
    put("safetensors", "huge-length.safetensors", struct.pack("<Q", 1 << 62) + b"{}")


if __name__ == "__main__":
    idx_seeds()
    npy_seeds()
    csv_seeds()
    safetensors_seeds()
