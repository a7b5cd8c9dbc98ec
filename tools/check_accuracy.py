#!/usr/bin/python3
"""Checks that lmnet classifies the Fashion-MNIST test set as PyTorch does, for every trained model.

    /usr/bin/python3 tools/check_accuracy.py [--models l_mobilenet ...] [--count N]
        [--runner build/release/tools/lmnet_fashion_mnist] [--weights examples/weights/fashion_mnist]
        [--markdown]

For each model with a weights file: PyTorch (tools/lmnet_tools/models.py, the Python reader and
preprocessing) and lmnet (lmnet_fashion_mnist: the C++ reader and preprocessing, the reference
backend) classify the first --count test images (all 10,000 by default). It checks that both
preprocess every image to the same floats, bit for bit, and prints per model

    accuracy <model> images=N lmnet=<acc> pytorch=<acc> agreement=<fraction> max_rel_logit_err=<e>

(the logit error is relative to the largest |logit| of each image), then
`accuracy: N passed, M failed`; a model passes when the predictions agree on at least 99.9% of the
images. --markdown then prints docs/fashion_mnist.md's table, with the training facts that
tools/train.py wrote into each weight file's metadata.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmnet_tools import fashion_mnist, models, safetensors  # noqa: E402

AGREEMENT = 0.999


def pytorch_logits(name, weights, inputs, batch=500):
    model = models.FASHION_MNIST[name]()
    tensors, metadata = safetensors.load(weights)
    state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise RuntimeError(f'{weights}: missing {missing}, unexpected {unexpected}')
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            out.append(model(torch.from_numpy(inputs[i:i + batch])).numpy())
    return np.concatenate(out), metadata


def check(name, args, images, labels, work):
    weights = os.path.join(args.weights, f'{name}.safetensors')
    count = len(labels)
    inputs = fashion_mnist.preprocess(images)
    expected, metadata = pytorch_logits(name, weights, inputs)

    logits_path, inputs_path = (os.path.join(work, f'{name}.{k}.f32') for k in ('logits', 'inputs'))
    command = [args.runner, name, weights, '--count', str(count), '--logits', logits_path,
               '--inputs', inputs_path]
    if args.threads:
        command += ['--threads', str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{args.runner} failed: {done.stderr.strip()}')
    print(done.stdout.strip(), flush=True)
    got = np.fromfile(logits_path, dtype=np.float32).reshape(expected.shape)
    same_inputs = np.array_equal(np.fromfile(inputs_path, dtype=np.float32).view(np.uint32),
                                 inputs.reshape(-1).view(np.uint32))

    ours, theirs = got.argmax(1), expected.argmax(1)
    scale = np.abs(expected).max(1, keepdims=True)
    return {
        'images': count,
        'lmnet': float((ours == labels).mean()),
        'pytorch': float((theirs == labels).mean()),
        'agreement': float((ours == theirs).mean()),
        'max_rel_logit_err': float((np.abs(got - expected) / scale).max()),
        'same_inputs': bool(same_inputs),
        'trained': metadata,  # tools/train.py's facts: accuracies, params, MACs, time
    }


def markdown(checked):
    """docs/fashion_mnist.md's table: training facts (the weight files' metadata, written by
    tools/train.py) beside lmnet's accuracy and agreement."""
    rows = ['| model | parameters | MACs | epochs | training time | validation accuracy '
            '| test accuracy (PyTorch) | test accuracy (lmnet) | same prediction |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for name, c in sorted(checked.items(), key=lambda kv: int(kv[1]['trained'].get('params', 0))):
        t = c['trained']
        if 'test_accuracy' not in t:
            rows.append(f'| {name} | | | | | | | {100 * c["lmnet"]:.2f}% | {100 * c["agreement"]:.2f}% |')
            continue
        rows.append(f"| {name} | {int(t['params']):,} | {int(t['macs']):,} | {t['epochs']} "
                    f"| {int(t['train_seconds']) / 60:.0f} min | {100 * float(t['validation_accuracy']):.2f}% "
                    f"| {100 * float(t['test_accuracy']):.2f}% | {100 * c['lmnet']:.2f}% "
                    f"| {100 * c['agreement']:.2f}% of {c['images']:,} |")
    return '\n'.join(rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, '..')
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', choices=sorted(models.FASHION_MNIST))
    parser.add_argument('--count', type=int, default=10000, help='the first N test images')
    parser.add_argument('--runner', default=os.path.join(root, 'build', 'release', 'tools', 'lmnet_fashion_mnist'))
    parser.add_argument('--weights', default=os.path.join(root, 'examples', 'weights', 'fashion_mnist'))
    parser.add_argument('--threads', type=int, default=0, help="lmnet's threads (default: all cores)")
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    names = args.models or [n for n in models.FASHION_MNIST
                            if os.path.exists(os.path.join(args.weights, f'{n}.safetensors'))]
    if not names:
        print(f'no weights in {args.weights}')
        return 1

    images, labels = fashion_mnist.load('t10k')
    images, labels = images[:args.count], labels[:args.count].astype(np.int64)
    checked, lines = {}, []
    with tempfile.TemporaryDirectory(prefix='lmnet_accuracy_') as work:
        for name in names:
            try:
                c = check(name, args, images, labels, work)
                checked[name] = c
                ok = c['agreement'] >= AGREEMENT and c['same_inputs']
                lines.append((ok, f"accuracy {name} images={c['images']} lmnet={c['lmnet']:.4f} "
                                  f"pytorch={c['pytorch']:.4f} agreement={c['agreement']:.4f} "
                                  f"max_rel_logit_err={c['max_rel_logit_err']:.2e}"
                                  + ('' if c['same_inputs'] else ' PREPROCESSING DIFFERS')))
            except Exception as e:  # reported; the other models still run
                lines.append((False, f'accuracy {name} failed: {e}'))
    for _, line in lines:
        print(line)
    passed = sum(ok for ok, _ in lines)
    print(f'accuracy: {passed} passed, {len(lines) - passed} failed')
    if args.markdown:
        print()
        print(markdown(checked))
    return 0 if passed == len(lines) else 1


if __name__ == '__main__':
    sys.exit(main())
