#!/usr/bin/python3
"""Exports a PyTorch model to a safetensors file that lmnet loads by `state_dict` name.

    /usr/bin/python3 tools/export.py <model> <out.safetensors> [--checkpoint state_dict.pt]
                                    [--dtype F32|F16|BF16] [--seed N] [--randomize-batch-norm]

<model> is one of MODELS: torchvision's MobileNetV2 and ShuffleNetV2 x1.0 (224x224, 1000 classes),
their CIFAR-size variants, lmnet's L-Mobilenet, and the Fashion-MNIST models (fashion_mnist/<name>,
1 input channel). Without --checkpoint the weights are PyTorch's random initialisation (--seed);
with it, a state_dict saved by torch.save(model.state_dict(), path) is loaded first, strictly.
The C++ side:  lmnet::model<net> m;  m.load(lmnet::safetensors{"out.safetensors"});
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmnet_tools import models, safetensors  # noqa: E402

# name -> (constructor, input (channels, height, width)); the C++ presets of the same name are in
# tools/parity_runner.cpp and support/fashion_mnist_models.hpp.
MODELS = {
    'mobilenet_v2': (lambda: models.mobilenet_v2(1000, 3), (3, 224, 224)),
    'mobilenet_v2_cifar': (lambda: models.mobilenet_v2(10, 3, cifar=True), (3, 32, 32)),
    'shufflenet_v2': (lambda: models.shufflenet_v2(1000, 3, 1.0), (3, 224, 224)),
    'shufflenet_v2_cifar': (lambda: models.shufflenet_v2(10, 3, 1.0, cifar=True), (3, 32, 32)),
    'l_mobilenet': (lambda: models.LMobilenet(10, 3), (3, 32, 32)),
}
MODELS.update({f'fashion_mnist/{name}': (build, (1, 32, 32))
               for name, build in models.FASHION_MNIST.items()})

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}


def randomize_batch_norm(model, generator):
    """Makes every BatchNorm's affine parameters and running statistics non-trivial (PyTorch
    initialises them to 1, 0, 0, 1, which would hide a folding mistake)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                m.bias.copy_(torch.rand(c, generator=generator) * 0.4 - 0.2)
                m.running_mean.copy_(torch.rand(c, generator=generator) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(c, generator=generator) + 0.5)


def round_to(model, dtype):
    """Rounds the model's floating-point parameters and buffers to `dtype` (and back to float32),
    so that PyTorch computes with exactly the values an F16 or BF16 file holds."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.to(dtype).to(torch.float32))


def export(model, path, dtype='F32', metadata=None):
    """Writes the model's state_dict (num_batches_tracked included: lmnet ignores it), floating-point
    tensors in `dtype`."""
    state = {}
    for name, t in model.state_dict().items():
        state[name] = t.to(DTYPES[dtype]) if t.is_floating_point() else t
    safetensors.save(path, state, metadata)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', choices=sorted(MODELS))
    parser.add_argument('out')
    parser.add_argument('--checkpoint', help='a state_dict saved with torch.save')
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='F32')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--randomize-batch-norm', action='store_true')
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = MODELS[args.model][0]()
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location='cpu'), strict=True)
    if args.randomize_batch_norm:
        randomize_batch_norm(model, torch.Generator().manual_seed(args.seed))
    export(model.eval(), args.out, args.dtype, {'model': args.model, 'format': 'pt'})
    print(f'{args.out}: {args.model}, {sum(p.numel() for p in model.parameters())} parameters, {args.dtype}')


if __name__ == '__main__':
    main()
