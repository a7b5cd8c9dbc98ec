"""The safetensors format, written and read with json, struct and numpy only.

Layout: an 8-byte little-endian header length N, N bytes of JSON header
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw
little-endian tensor bytes, offsets relative to the end of the header.

numpy has no bfloat16: torch.bfloat16 tensors are written as BF16 from their bit patterns, and BF16
tensors are read back as float32 (every bfloat16 value is one).
"""

import json
import struct

import numpy as np

_DTYPES = {'F32': np.float32, 'F16': np.float16, 'F64': np.float64, 'I64': np.int64,
           'I32': np.int32, 'U8': np.uint8}


def _torch():
    import torch  # only for bfloat16 tensors, which only torch makes
    return torch


def _dtype_name(array):
    for name, t in _DTYPES.items():
        if array.dtype == t:
            return name
    raise ValueError(f'unsupported dtype {array.dtype}')


def save(path, tensors, metadata=None):
    """Writes {name: numpy array or torch tensor} to `path`, tensors in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        bfloat16 = hasattr(t, 'dtype') and str(t.dtype) == 'torch.bfloat16'
        if bfloat16:
            t = t.detach().cpu().contiguous().view(dtype=_torch().int16)
        array = t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)
        array = np.asarray(array)  # keeps 0-d tensors 0-d (ascontiguousarray would make them [1])
        data = array.astype(array.dtype.newbyteorder('<'), copy=False).tobytes(order='C')
        header[name] = {'dtype': 'BF16' if bfloat16 else _dtype_name(array),
                        'shape': list(array.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load(path):
    """Reads `path` into {name: numpy array}; returns (tensors, metadata)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop('__metadata__', {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        if info['dtype'] == 'BF16':
            bits = np.frombuffer(raw[base + begin:base + end], dtype='<u2').astype(np.uint32) << 16
            tensors[name] = bits.view(np.float32).reshape(info['shape'])
            continue
        dtype = np.dtype(_DTYPES[info['dtype']]).newbyteorder('<')
        tensors[name] = np.frombuffer(raw[base + begin:base + end], dtype=dtype).reshape(info['shape'])
    return tensors, metadata
