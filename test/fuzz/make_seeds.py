#!/usr/bin/python3
"""Writes the committed seed corpus of the safetensors fuzz target (test/fuzz/corpus/).

    /usr/bin/python3 test/fuzz/make_seeds.py

Small valid files of every readable dtype (one written by tools/lmnet_tools/safetensors.py, which
test/io/safetensors_test.cpp also reads), and one file per malformed case the reader rejects, so
that fuzzing starts from every branch of the parser.
"""

import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
from lmnet_tools import safetensors  # noqa: E402

CORPUS = os.path.join(HERE, 'corpus')


def raw(header, data=b''):
    """A file from a header (text or dict) and data bytes, the length field computed."""
    text = header if isinstance(header, (bytes, str)) else json.dumps(header, separators=(',', ':'))
    text = text.encode() if isinstance(text, str) else text
    return struct.pack('<Q', len(text)) + text + data


def write(name, content):
    with open(os.path.join(CORPUS, name), 'wb') as f:
        f.write(content)


def main():
    os.makedirs(CORPUS, exist_ok=True)
    safetensors.save(os.path.join(CORPUS, 'python_mixed.safetensors'), {
        'layer.weight': np.arange(6, dtype=np.float32).reshape(2, 3),
        'layer.bias': np.array([-1.0, 0.5], dtype=np.float16),
        'scalar': np.array(2.0, dtype=np.float32),
        'bn.num_batches_tracked': np.array(7, dtype=np.int64),
    }, {'writer': 'lmnet_tools.safetensors'})

    bf16 = struct.pack('<3H', 0x3f80, 0xbf00, 0x00c0)
    f16 = struct.pack('<2H', 0x3c00, 0x0001)
    write('bf16_f16_escapes.safetensors', raw(
        '{"__metadata__":{"k\\u00e9y":"v\\n\\"\\\\\\/"},'
        '"a\\ud83d\\ude00.weight":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},'
        ' "b" : {"shape":[1,2],"dtype":"F16","data_offsets":[6,10]},'
        '"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[10,10]}}  ', bf16 + f16))
    write('empty_header.safetensors', raw('{}'))
    write('metadata_null.safetensors', raw('{"__metadata__":null}'))
    all_dtypes = {}
    offset = 0
    for name, size in (('BOOL', 1), ('U8', 1), ('I8', 1), ('F8_E5M2', 1), ('F8_E4M3', 1),
                       ('I16', 2), ('U16', 2), ('I32', 4), ('U32', 4), ('F64', 8), ('I64', 8),
                       ('U64', 8)):
        all_dtypes[name.lower()] = {'dtype': name, 'shape': [2], 'data_offsets': [offset, offset + 2 * size]}
        offset += 2 * size
    write('other_dtypes.safetensors', raw(all_dtypes, bytes(range(offset))))

    w = {'w': {'dtype': 'F32', 'shape': [2, 2], 'data_offsets': [0, 16]}}
    data = struct.pack('<4f', 1, 2, 3, 4)
    write('bad_truncated.safetensors', raw(w, data[:-3]))
    write('bad_header_length.safetensors', struct.pack('<Q', 1 << 40) + b'{}')
    write('bad_not_json.safetensors', raw('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},}', data))
    write('bad_overlap.safetensors', raw({
        'a': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 12]},
        'b': {'dtype': 'F32', 'shape': [2], 'data_offsets': [8, 16]}}, data))
    write('bad_size.safetensors', raw({'w': {'dtype': 'F16', 'shape': [3], 'data_offsets': [0, 16]}}, data))
    write('bad_nan.safetensors', raw(w, struct.pack('<4f', 1, float('nan'), 3, float('inf'))))
    write('bad_duplicate.safetensors', raw(
        '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[4],'
        '"data_offsets":[0,16]}}', data))


if __name__ == '__main__':
    main()
