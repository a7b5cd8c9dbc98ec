#!/usr/bin/python3
"""Checks that lmnet computes what PyTorch computes, on models nobody wrote for lmnet.

    /usr/bin/python3 tools/parity.py [--runner build/release/tools/lmnet_parity_runner]
                                     [--cases mobilenet_v2 ...] [--dtype F32|F16|BF16]

For each case (torchvision's MobileNetV2 at 224x224 and its CIFAR variant at 32x32, torchvision's
ShuffleNetV2 x1.0 at 224x224, lmnet's L-Mobilenet at 32x32): a randomly initialised model with
non-trivial batch-norm parameters and running statistics is exported to safetensors
(tools/export.py), lmnet's reference backend runs it on the same random inputs as PyTorch
(lmnet_parity_runner), and the logits are compared. The error is relative to the largest |logit|;
a case passes when it is at most 1e-4. The last lines are

    parity <model> <HxW> max_abs_err=<x> max_rel_err=<y>     (one per case)
    parity: N passed, M failed

With --dtype F16 or BF16 the file holds half-precision weights and PyTorch runs on the same rounded
values, which checks lmnet's conversions on real files.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402

CASES = ['mobilenet_v2', 'mobilenet_v2_cifar', 'shufflenet_v2', 'l_mobilenet']
TOLERANCE = 1e-4


def run_case(name, runner, work, dtype, batch, seed):
    """Returns (max_abs_err, max_rel_err, notes) of lmnet against PyTorch for one case."""
    build, (channels, height, width) = export.MODELS[name]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build().eval()
    export.randomize_batch_norm(model, generator)
    if dtype != 'F32':
        export.round_to(model, export.DTYPES[dtype])
    x = torch.randn(batch, channels, height, width, generator=generator)
    with torch.no_grad():
        expected = model(x).numpy()
        exact = model.double()(x.double()).numpy()  # PyTorch in float64: how exact is float32?

    weights = os.path.join(work, f'{name}.safetensors')
    inputs = os.path.join(work, f'{name}.input.f32')
    logits = os.path.join(work, f'{name}.logits.f32')
    export.export(model.float(), weights, dtype)
    x.permute(0, 2, 3, 1).contiguous().numpy().astype('<f4').tofile(inputs)  # lmnet is NHWC
    done = subprocess.run([runner, name, weights, inputs, logits], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{runner} failed: {done.stderr.strip()}')
    got = np.fromfile(logits, dtype='<f4')
    if got.size != expected.size:
        raise RuntimeError(f'lmnet wrote {got.size} logits, PyTorch has {expected.size}')
    got = got.reshape(expected.shape)
    scale = np.abs(expected).max()
    max_abs = float(np.abs(got - expected).max())
    notes = (f'{name}: {batch} images, largest |logit| {scale:.3g}; against PyTorch in float64: '
             f'lmnet {np.abs(got - exact).max() / scale:.2e}, PyTorch float32 '
             f'{np.abs(expected - exact).max() / scale:.2e}; same argmax: '
             f'{bool((got.argmax(1) == expected.argmax(1)).all())}')
    return max_abs, max_abs / float(scale), f'{height}x{width}', notes


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runner', default=os.path.join(here, '..', 'build', 'release', 'tools',
                                                         'lmnet_parity_runner'))
    parser.add_argument('--cases', nargs='+', choices=CASES, default=CASES)
    parser.add_argument('--dtype', choices=sorted(export.DTYPES), default='F32')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    lines, passed = [], 0
    with tempfile.TemporaryDirectory(prefix='lmnet_parity_') as work:
        for name in args.cases:
            try:
                max_abs, max_rel, size, notes = run_case(name, args.runner, work, args.dtype,
                                                         args.batch, args.seed)
                print(notes, flush=True)
            except Exception as e:  # a failed case is reported, the others still run
                print(f'{name}: {e}', flush=True)
                max_abs = max_rel = float('nan')
                size = '{1}x{2}'.format(*export.MODELS[name][1])
            ok = max_rel <= TOLERANCE  # false for nan
            passed += ok
            lines.append(f'parity {name} {size} max_abs_err={max_abs:.3e} max_rel_err={max_rel:.3e}')
    for line in lines:
        print(line)
    failed = len(args.cases) - passed
    print(f'parity: {passed} passed, {failed} failed')
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
