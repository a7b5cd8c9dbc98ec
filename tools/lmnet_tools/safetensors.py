"""The safetensors format, written and read with json, struct and numpy only.

Layout: an 8-byte little-endian header length N, N bytes of JSON header
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw
little-endian tensor bytes, offsets relative to the end of the header.
"""

import json
import struct

import numpy as np

_DTYPES = {'F32': np.float32, 'F16': np.float16, 'F64': np.float64, 'I64': np.int64,
           'I32': np.int32, 'U8': np.uint8}


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
        array = t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)
        array = np.asarray(array)  # keeps 0-d tensors 0-d (ascontiguousarray would make them [1])
        data = array.astype(array.dtype.newbyteorder('<'), copy=False).tobytes(order='C')
        header[name] = {'dtype': _dtype_name(array), 'shape': list(array.shape),
                        'data_offsets': [offset, offset + len(data)]}
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
        dtype = np.dtype(_DTYPES[info['dtype']]).newbyteorder('<')
        tensors[name] = np.frombuffer(raw[base + begin:base + end], dtype=dtype).reshape(info['shape'])
    return tensors, metadata
