#!/usr/bin/python3
"""Trains lmnet's Fashion-MNIST models on the CPU and exports them to safetensors.

    /usr/bin/python3 tools/train.py [--models l_mobilenet ...] [--epochs 10]

Every model is trained the same way: fixed seeds, SGD with Nesterov momentum, one-cycle learning
rate, weight decay 5e-4, batch 128, random 2-pixel shifts and horizontal flips; 55,000 training
images, 5,000 held out for validation (fashion_mnist.validation_split), and the 10,000 test images
used once, at the end. Inputs: 1 channel, 28x28 zero-padded to 32x32, normalised.
Writes <out>/<model>.safetensors (weights, with training facts in its metadata) and
<out>/results.json.
"""

import argparse
import fcntl
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmnet_tools import fashion_mnist, models, safetensors  # noqa: E402


def count_macs(model, shape=(1, 1, 32, 32)):
    """Multiply-accumulates of conv and linear layers for one image (lmnet's `macs()`)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * module.in_channels // module.groups * kh * kw
        elif isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(shape))
    for h in handles:
        h.remove()
    return total


def augment(x, rng):
    """Random shifts of up to 2 pixels (the 28x28 image moves inside its 32x32 frame) and flips."""
    n = x.shape[0]
    background = x[0, 0, 0, 0]  # a padded pixel: the normalised value of black
    out = torch.full_like(x, float(background))
    dy, dx = rng.integers(-2, 3, n), rng.integers(-2, 3, n)
    for i in range(n):
        out[i, :, 2 + dy[i]:30 + dy[i], 2 + dx[i]:30 + dx[i]] = x[i, :, 2:30, 2:30]
    flip = torch.from_numpy(rng.random(n) < 0.5)
    out[flip] = out[flip].flip(3)
    return out


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def train(name, epochs, out_dir, seed=0, batch=128, lr=0.1):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    images, labels = fashion_mnist.load('train')
    train_idx, val_idx = fashion_mnist.validation_split(len(images))
    x = torch.from_numpy(fashion_mnist.preprocess(images))
    y = torch.from_numpy(labels.astype(np.int64))
    x_train, y_train, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]

    # channels_last speeds up PyTorch's CPU training of the MobileNetV2s and slows the others.
    memory_format = torch.channels_last if name.startswith('mobilenet_v2') else torch.contiguous_format
    model = models.FASHION_MNIST[name]().to(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    steps = epochs * ((len(x_train) + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    start = time.time()
    history = []
    for epoch in range(epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_train)))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            xb = augment(x_train[idx], rng).contiguous(memory_format=memory_format)
            loss = F.cross_entropy(model(xb), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        val = accuracy(model, x_val, y_val)
        history.append(val)
        print(f'{name} epoch {epoch + 1}/{epochs}: loss {loss.item():.4f} validation {val:.4f} '
              f'({time.time() - start:.0f} s)', flush=True)
    seconds = time.time() - start

    test_images, test_labels = fashion_mnist.load('t10k')
    test = accuracy(model, torch.from_numpy(fashion_mnist.preprocess(test_images)),
                    torch.from_numpy(test_labels.astype(np.int64)))
    model = model.to(memory_format=torch.contiguous_format).eval()
    result = {'model': name, 'epochs': epochs, 'seed': seed, 'train_seconds': round(seconds),
              'validation_accuracy': history[-1], 'test_accuracy': test,
              'params': sum(p.numel() for p in model.parameters()), 'macs': count_macs(model),
              'threads': torch.get_num_threads(), 'torch': torch.__version__}
    state = {k: v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    safetensors.save(os.path.join(out_dir, f'{name}.safetensors'), state, result)
    print(json.dumps(result), flush=True)
    return result


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(models.FASHION_MNIST))
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='intra-op threads (1 when two trainings share two cores)')
    parser.add_argument('--out', default=os.path.join(here, '..', 'examples', 'weights', 'fashion_mnist'))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, 'results.json')
    for name in args.models:
        result = train(name, args.epochs, args.out)
        # Several trainings may run at once (one model each): merge under a lock.
        with open(path + '.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            results = json.load(open(path)) if os.path.exists(path) else {}
            results[name] = result
            with open(path, 'w') as f:
                json.dump(results, f, indent=2, sort_keys=True)

if __name__ == '__main__':
    main()
