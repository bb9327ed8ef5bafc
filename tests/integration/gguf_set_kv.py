#!/usr/bin/env python3
"""Test helper: copies a GGUF file with one string key added or replaced
(e.g. tokenizer.chat_template), keeping tensor data and alignment intact.
Usage: gguf_set_kv.py IN OUT KEY VALUE-FILE"""
import struct, sys

src, dst, key, value_file = sys.argv[1:5]
value = open(value_file, "rb").read()
data = open(src, "rb").read()
magic, version, n_tensors, n_kv = struct.unpack_from("<4sIQQ", data, 0)
assert magic == b"GGUF" and version in (2, 3)
pos = 24
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

def read_str(p):
    (n,) = struct.unpack_from("<Q", data, p)
    return data[p + 8:p + 8 + n], p + 8 + n

def skip_value(t, p):
    if t == 8:
        return read_str(p)[1]
    if t == 9:
        et, n = struct.unpack_from("<IQ", data, p)
        p += 12
        for _ in range(n):
            p = skip_value(et, p)
        return p
    return p + SIZES[t]

kvs, alignment = [], 32
for _ in range(n_kv):
    start = pos
    k, pos = read_str(pos)
    (t,) = struct.unpack_from("<I", data, pos)
    end = skip_value(t, pos + 4)
    if k == b"general.alignment":
        (alignment,) = struct.unpack_from("<I", data, pos + 4)
    if k != key.encode():
        kvs.append(data[start:end])
    pos = end
infos_start = pos
for _ in range(n_tensors):
    _, pos = read_str(pos)
    (nd,) = struct.unpack_from("<I", data, pos)
    pos += 4 + 8 * nd + 4 + 8
infos = data[infos_start:pos]
data_start = (pos + alignment - 1) // alignment * alignment
kb = key.encode()
kvs.append(struct.pack("<Q", len(kb)) + kb + struct.pack("<IQ", 8, len(value)) + value)
head = struct.pack("<4sIQQ", b"GGUF", version, n_tensors, len(kvs)) + b"".join(kvs) + infos
head += b"\0" * ((-len(head)) % alignment)
open(dst, "wb").write(head + data[data_start:])
