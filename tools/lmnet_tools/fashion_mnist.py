"""Fashion-MNIST from Debian's dataset-fashion-mnist package (gzip-compressed IDX files)."""

import gzip
import struct

import numpy as np

ROOT = '/usr/share/datasets/fashion-mnist'
CLASSES = ['t-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
           'bag', 'ankle boot']
# Mean and standard deviation of the training images' pixels in [0, 1].
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """An IDX file as a numpy array: magic 0x0803 images (N, rows, cols), 0x0801 labels (N,)."""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    zero, dtype, dims = struct.unpack('>HBB', raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file')
    shape = struct.unpack('>' + 'I' * dims, raw[4:4 + 4 * dims])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ValueError(f'{path}: {data.size} bytes of data, header says {shape}')
    return data.reshape(shape)


def load(split):
    """('train' | 't10k') -> (uint8 images (N, 28, 28), uint8 labels (N,))."""
    images = read_idx(f'{ROOT}/{split}-images-idx3-ubyte.gz')
    labels = read_idx(f'{ROOT}/{split}-labels-idx1-ubyte.gz')
    return images, labels


def validation_split(count=60000):
    """Indices (train, validation) of the training images: every 12th image (index % 12 == 0) is
    held out for validation (5000 of 60000), the rest trains. A rule, not a random draw, so the C++
    tools select the same images. The test set is never part of either."""
    index = np.arange(count)
    return index[index % 12 != 0], index[index % 12 == 0]


def preprocess(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 32, 32): zero-pad 2 pixels each side, scale to [0, 1],
    normalise. lmnet's C++ reader does the same (support/fashion_mnist.hpp)."""
    x = np.zeros((images.shape[0], 1, 32, 32), dtype=np.float32)
    x[:, 0, 2:30, 2:30] = images.astype(np.float32) / 255.0
    return (x - MEAN) / STD
