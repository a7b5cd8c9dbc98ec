#!/usr/bin/python3
"""What int8 costs in accuracy: every trained Fashion-MNIST model, calibrated (lmnet_quantize) and
run in int8 and in fp32 by lmnet's simd backend over the test set.

    /usr/bin/python3 tools/int8_accuracy.py [--models l_mobilenet ...] [--count N]
        [--images N] [--rule percentile|min_max] [--build build/release]
        [--weights examples/weights/fashion_mnist] [--work build/int8] [--markdown]

For each model with a weights file it writes the calibrated file <work>/<model>.safetensors
(calibrated on the first --images training images), classifies the first --count test images (all
10,000 by default) in fp32 and in int8, and prints

    accuracy_int8 <model> fp32=<acc> int8=<acc> drop_pt=<fp32 - int8, points> top1_agreement_fp32=<r>

then `accuracy_int8: N passed, M failed`; a model passes when it loses at most 0.5 points and
agrees with its fp32 self on at least 99% of the images (exit status 1 otherwise). --markdown
then prints docs/quantization.md's table.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmnet_tools import fashion_mnist  # noqa: E402

MODELS = ['l_mobilenet', 'mobilenet_v2_cifar', 'shufflenet_v2_cifar', 'plain_cnn', 'resnet8',
          'shufflenet_v2_x0_5_cifar', 'mobilenet_v2_x0_5_cifar']
MAX_DROP_PT = 0.5
MIN_AGREEMENT = 0.99


def classify(runner, name, weights, backend, count, logits_path):
    subprocess.run([runner, name, weights, '--count', str(count), '--backend', backend,
                    '--logits', logits_path], check=True, stdout=subprocess.DEVNULL)
    return np.fromfile(logits_path, dtype=np.float32).reshape(count, 10).argmax(axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='*', default=MODELS)
    parser.add_argument('--count', type=int, default=10000)
    parser.add_argument('--images', type=int, default=500)
    parser.add_argument('--rule', choices=['percentile', 'min_max'], default='percentile')
    parser.add_argument('--build', default='build/release')
    parser.add_argument('--weights', default='examples/weights/fashion_mnist')
    parser.add_argument('--work', default='build/int8')
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    runner = os.path.join(args.build, 'tools', 'lmnet_fashion_mnist')
    quantizer = os.path.join(args.build, 'tools', 'lmnet_quantize')
    os.makedirs(args.work, exist_ok=True)
    _, labels = fashion_mnist.load('t10k')
    labels = labels[:args.count].astype(np.int64)

    rows, failed = [], 0
    for name in args.models:
        weights = os.path.join(args.weights, f'{name}.safetensors')
        if not os.path.exists(weights):
            continue
        calibrated = os.path.join(args.work, f'{name}.safetensors')
        subprocess.run([quantizer, name, weights, calibrated, '--images', str(args.images),
                        '--rule', args.rule], check=True, stdout=subprocess.DEVNULL)
        fp32 = classify(runner, name, weights, 'simd', args.count,
                        os.path.join(args.work, f'{name}.fp32.f32'))
        int8 = classify(runner, name, calibrated, 'int8', args.count,
                        os.path.join(args.work, f'{name}.int8.f32'))
        a32, a8 = float((fp32 == labels).mean()), float((int8 == labels).mean())
        agreement = float((fp32 == int8).mean())
        drop = 100.0 * (a32 - a8)
        ok = drop <= MAX_DROP_PT and agreement >= MIN_AGREEMENT
        failed += 0 if ok else 1
        rows.append((name, a32, a8, drop, agreement))
        print(f'accuracy_int8 {name} fp32={a32:.4f} int8={a8:.4f} drop_pt={drop:.2f} '
              f'top1_agreement_fp32={agreement:.4f}' + ('' if ok else '  FAILED'), flush=True)
    print(f'accuracy_int8: {len(rows) - failed} passed, {failed} failed')
    if args.markdown:
        print('\n| model | fp32 | int8 | drop (points) | int8 agrees with fp32 |')
        print('|---|---:|---:|---:|---:|')
        for name, a32, a8, drop, agreement in rows:
            print(f'| {name} | {100 * a32:.2f}% | {100 * a8:.2f}% | {drop:.2f} | '
                  f'{100 * agreement:.2f}% |')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
