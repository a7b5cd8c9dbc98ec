#!/usr/bin/python3
"""ADAPTER, to be replaced by lmnet's C++ safetensors reader: converts a safetensors file to the
`.lmraw` format tools/cascade/adapters.hpp reads.

    /usr/bin/python3 tools/cascade/raw_weights.py in.safetensors out.lmraw

.lmraw: b"LMRAW001", u32 tensor count, then per tensor: u32 name length, the UTF-8 name, u32 rank,
i64 dims, float32 values; all little-endian. Integer tensors (num_batches_tracked) are dropped.
"""

import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from lmnet_tools import safetensors  # noqa: E402


def convert(source, target):
    tensors, _ = safetensors.load(source)
    kept = {k: v for k, v in tensors.items() if np.issubdtype(v.dtype, np.floating)}
    with open(target + '.part', 'wb') as f:
        f.write(b'LMRAW001')
        f.write(struct.pack('<I', len(kept)))
        for name in sorted(kept):
            array = np.ascontiguousarray(kept[name], dtype='<f4')
            encoded = name.encode()
            f.write(struct.pack('<I', len(encoded)))
            f.write(encoded)
            f.write(struct.pack('<I', array.ndim))
            f.write(struct.pack(f'<{array.ndim}q', *array.shape))
            f.write(array.tobytes())
    os.replace(target + '.part', target)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    convert(sys.argv[1], sys.argv[2])
