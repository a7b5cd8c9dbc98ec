"""Batch-1 latency of the PyTorch peers on lmnet's networks, for scripts/compare-peers.

Each network is built with the PyTorch mirrors of lmnet's presets (lmnet_tools.models: the same
architectures, layer for layer), put in eval mode and traced, then run two ways:
  onednn   torch.jit.optimize_for_inference(torch.jit.freeze(traced)): oneDNN (MKLDNN) kernels
  xnnpack  torch.utils.mobile_optimizer.optimize_for_mobile(traced): XNNPACK kernels
Weights are PyTorch's random initialisation: latency does not depend on the values.

Run as /usr/bin/python3 with OMP_NUM_THREADS set to the thread count (oneDNN's OpenMP reads it
when torch is imported); prints one JSON object per network.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch.utils.mobile_optimizer import optimize_for_mobile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmnet_tools import models  # noqa: E402

# name -> (constructor, input channels): the cases of scripts/compare-peers.
NETWORKS = {
    'mobilenet_v2': (lambda: models.mobilenet_v2(), 3),
    'mobilenet_v2_cifar': (models.FASHION_MNIST['mobilenet_v2_cifar'], 1),
    'shufflenet_v2_cifar': (models.FASHION_MNIST['shufflenet_v2_cifar'], 1),
    'l_mobilenet': (models.FASHION_MNIST['l_mobilenet'], 1),
}


def median_ms(run, x, seconds, min_runs, clock=time.perf_counter):
    with torch.no_grad():
        for _ in range(10):
            run(x)
        times = []
        start = time.perf_counter()
        while len(times) < min_runs or time.perf_counter() - start < seconds:
            t = clock()
            run(x)
            times.append(clock() - t)
    return statistics.median(times) * 1e3, len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--seconds', type=float, default=3.0, help='timing per case, at least')
    parser.add_argument('--min-runs', type=int, default=50)
    parser.add_argument('--cpu-time', action='store_true',
                        help='time the process CPU time instead of wall time (one thread only)')
    parser.add_argument('cases', nargs='+', help='<network>:<size>, e.g. mobilenet_v2:224')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for case in args.cases:
        name, size = case.split(':')
        build, channels = NETWORKS[name]
        torch.manual_seed(0)
        net = build().eval()
        x = torch.rand(1, channels, int(size), int(size))
        with torch.no_grad():
            traced = torch.jit.trace(net, x)
            onednn = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
            xnnpack = optimize_for_mobile(traced)
            reference = net(x)
            for peer in (onednn, xnnpack):  # both compute the network they are timed on
                err = (peer(x) - reference).abs().max().item() / reference.abs().max().item()
                if err > 1e-3:
                    raise SystemExit(f'{case}: a PyTorch peer disagrees with eager mode ({err})')
        clock = time.process_time if args.cpu_time else time.perf_counter
        onednn_ms, onednn_runs = median_ms(onednn, x, args.seconds, args.min_runs, clock)
        xnnpack_ms, xnnpack_runs = median_ms(xnnpack, x, args.seconds, args.min_runs, clock)
        print(json.dumps({'network': name, 'size': int(size), 'threads': args.threads,
                          'onednn_ms': onednn_ms, 'xnnpack_ms': xnnpack_ms,
                          'runs': [onednn_runs, xnnpack_runs], 'torch': torch.__version__}),
              flush=True)


if __name__ == '__main__':
    main()
