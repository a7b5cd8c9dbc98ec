#!/usr/bin/python3
"""An lmnet int8 network (the JSON of lmnet_export_int8) run in numpy in lmnet's integer
arithmetic (docs/quantization.md, "The scheme"): the check that the export describes the network
lmnet runs, node for node and code for code.

    /usr/bin/python3 tools/int8_numpy.py <network.json> <inputs.f32> <logits.f32> [--count N]

<inputs.f32> holds NHWC float32 images (lmnet_fashion_mnist --inputs), <logits.f32> lmnet's int8
output on them (lmnet_fashion_mnist --backend int8 --logits). Runs the first N images (8 by
default) and prints `int8_numpy <model> images=N equal=E`, where E counts the images whose every
output value equals lmnet's bit for bit; exits 1 unless all do. Needs only numpy.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from int8_onnx import load  # noqa: E402

LIMIT = np.float32(16777216.0)  # 2^24: a rescaled sum is clamped there before it is rounded


def round_rescaled(x):
    """round(x) ties to even of float32 x clamped to +-2^24 (params.hpp)."""
    return np.rint(np.clip(x.astype(np.float32), -LIMIT, LIMIT)).astype(np.int64)


def rescale(values, multiplier):
    """float32(values) * float32(multiplier), as the kernels compute it."""
    return round_rescaled(values.astype(np.float32) * np.asarray(multiplier, np.float32))


def quantize_input(x, scale, zero_point):
    inverse = np.float32(1.0) / np.float32(scale)
    return np.clip(round_rescaled(x.astype(np.float32) * inverse) + zero_point, 0, 255)


def conv_sums(x, n, z_in):
    """The int64 sums bias + sum of (x - z_in) * w of a convolution or dense node (x: H, W, C)."""
    # In float64, exact for these sums (far below 2^53) and much faster than integer products.
    w = n['weights'].astype(np.float64)
    d = x.astype(np.float64) - z_in
    if n['op'] == 'dense':
        return (w @ d.reshape(-1) + n['bias']).astype(np.int64).reshape(1, 1, -1)
    (kh, kw), (sh, sw), (ph, pw), groups = n['kernel'], n['stride'], n['padding'], n['groups']
    d = np.pad(d, ((ph, ph), (pw, pw), (0, 0)))  # padding taps add nothing
    out_h = (d.shape[0] - kh) // sh + 1
    out_w = (d.shape[1] - kw) // sw + 1
    taps = np.stack([d[ky:ky + sh * out_h:sh, kx:kx + sw * out_w:sw]
                     for ky in range(kh) for kx in range(kw)], axis=2)
    taps = taps.reshape(out_h, out_w, kh * kw, groups, -1)  # (H, W, taps, groups, in per group)
    w = w.reshape(groups, w.shape[0] // groups, kh * kw, -1)  # (groups, out per group, taps, in)
    if groups == 1:  # a matrix product (BLAS)
        out = taps.reshape(out_h * out_w, -1) @ w.reshape(w.shape[1], -1).T
    else:
        out = np.einsum('hwtgi,goti->hwgo', taps, w)
    out = out.reshape(out_h, out_w, -1)
    return (out + n['bias']).astype(np.int64)


def run(network, image, terms=None):
    """lmnet's int8 output (dequantized float32) of one (H, W, C) image. `terms`, a dict, gets
    for each node with a fused residual the smallest and largest convolution term seen (the
    rounded rescaled sum, in steps of the output's scale): int8_onnx.py quantizes that term on
    its own."""
    codes = run_codes(network, image, terms)
    scale, zero = network['values'][network['output_value']]['scale'], \
        network['values'][network['output_value']]['zero_point']
    return ((codes[network['output_value']] - zero).astype(np.float32) * np.float32(scale)) \
        .reshape(-1)


def run_codes(network, image, terms=None):
    """The uint8 codes of every value (id -> (H, W, C) array) of one (H, W, C) image."""
    values = network['values']
    params = [(np.float32(v['scale']), v['zero_point']) for v in values]
    codes = {network['input_value']: quantize_input(image, *params[network['input_value']])}
    for n in network['nodes']:
        x = [codes[v] for v in n['inputs']]
        (s_in, z_in), (_, z_out) = params[n['inputs'][0]], params[n['output']]
        low, high = n['clamp']
        kind = n['op']
        if kind in ('conv2d', 'depthwise_conv2d', 'pointwise_conv2d', 'dense'):
            q = rescale(conv_sums(x[0], n, z_in), n['multiplier'])
            if n['residual'] >= 0 and terms is not None:
                low_seen, high_seen = terms.get(n['index'], (q.min(), q.max()))
                terms[n['index']] = (min(low_seen, int(q.min())), max(high_seen, int(q.max())))
            if n['residual'] >= 0:
                q = q + rescale(codes[n['residual']] - params[n['residual']][1],
                                n['second_multiplier'])
            y = np.clip(q + z_out, low, high)
        elif kind == 'add':
            q = rescale(x[0] - z_in, n['first_multiplier']) + \
                rescale(x[1] - params[n['inputs'][1]][1], n['second_multiplier'])
            y = np.clip(q + z_out, low, high)
        elif kind == 'activation':
            y = np.clip(rescale(x[0] - z_in, n['first_multiplier']) + z_out, low, high)
        elif kind == 'global_avg_pool':
            total = (x[0] - z_in).sum(axis=(0, 1), keepdims=True)
            y = np.clip(rescale(total, n['first_multiplier']) + z_out, low, high)
        elif kind == 'max_pool2d':
            (kh, kw), (sh, sw), (ph, pw) = n['kernel'], n['stride'], n['padding']
            padded = np.pad(x[0], ((ph, ph), (pw, pw), (0, 0)))  # 0: below every code
            oh, ow, _ = values[n['output']]['shape']
            y = np.max([padded[ky:ky + sh * oh:sh, kx:kx + sw * ow:sw]
                        for ky in range(kh) for kx in range(kw)], axis=0)
        elif kind == 'concat':
            y = np.concatenate(x, axis=2)
        elif kind == 'channel_slice':
            begin = n['channel_begin']
            y = x[0][:, :, begin:begin + values[n['output']]['shape'][2]]
        elif kind == 'channel_shuffle':
            channels, groups = x[0].shape[2], n['groups']
            j = np.arange(channels)
            y = x[0][:, :, (j % groups) * (channels // groups) + j // groups]
        elif kind == 'softmax':
            real = (x[0] - z_in).astype(np.float32) * s_in
            e = np.exp(real - real.max(axis=2, keepdims=True))
            s_out = params[n['output']][0]
            y = quantize_input(e / e.sum(axis=2, keepdims=True, dtype=np.float32), s_out, z_out)
        else:
            raise ValueError(f'node {n["index"]}: unknown op {kind}')
        codes[n['output']] = y
    return codes


def residual_terms(network, images):
    """For each node with a fused residual, the range of its convolution term over `images`
    ((N, H, W, C) float32), as run() records it."""
    terms = {}
    for image in images:
        run(network, image, terms)
    return terms


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('network')
    parser.add_argument('inputs')
    parser.add_argument('logits')
    parser.add_argument('--count', type=int, default=8)
    args = parser.parse_args()
    network = load(args.network)
    h, w, c = network['values'][network['input_value']]['shape']
    images = np.fromfile(args.inputs, np.float32).reshape(-1, h, w, c)[:args.count]
    classes = int(np.prod(network['values'][network['output_value']]['shape']))
    expected = np.fromfile(args.logits, np.float32).reshape(-1, classes)[:len(images)]
    equal = sum(bool(np.array_equal(run(network, image), want))
                for image, want in zip(images, expected))
    print(f'int8_numpy {network["model"]} images={len(images)} equal={equal}')
    return 0 if equal == len(images) else 1


if __name__ == '__main__':
    sys.exit(main())
