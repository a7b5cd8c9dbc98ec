#!/usr/bin/env python3
"""PyTorch with cuDNN on the same GPU, for scripts/cuda-bench: the networks bench_cuda.cu times,
and its single layers and blocks, built from lmnet's PyTorch mirrors (tools/lmnet_tools/models.py)
and torchvision, in eval mode, channels_last, torch.backends.cudnn.benchmark = True, timed two ways:

  eager  back-to-back calls of the module, timed with CUDA events (Python dispatch included: that
         is what a PyTorch caller waits for)
  graph  the forward pass captured once as a CUDA graph (torch.cuda.CUDAGraph), back-to-back
         replays timed with CUDA events

Each figure is the median of --repeats timings of back-to-back calls (20 for small inputs, 3 for
large ones), after warm-up. fp32 throughout: TF32 is switched off (PyTorch enables it for cuDNN
convolutions by default) so both sides compute at the precision lmnet does; --tf32 measures
PyTorch's default instead.

Runs wherever a CUDA build of PyTorch (and torchvision) is importable. Writes one JSON object per
case to --json and prints a table.
"""

import argparse
import json
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
from lmnet_tools import models  # noqa: E402

CASES = [
    # name, size, constructor, input channels
    ('mobilenet_v2', 224, lambda: models.mobilenet_v2(), 3),
    ('l_mobilenet', 32, lambda: models.LMobilenet(10, 3), 3),
    ('mobilenet_v2_cifar', 32, lambda: models.mobilenet_v2(10, 3, cifar=True), 3),
]


def _inverted_residual(channels):
    from torchvision.models.mobilenetv2 import InvertedResidual
    return InvertedResidual(channels, channels, 1, 6)


# The single layers and blocks of bench_cuda.cu, under the same names (timed at batch 1 and 64):
# name, constructor, input shape per image (C, H, W), or (F,) for a dense layer.
LAYERS = [
    ('stem_conv3x3_s2/224x224x3->32', lambda: models.ConvBN(3, 32, 3, 2), (3, 224, 224)),
    ('depthwise3x3_s2/112x112x96', lambda: models.ConvBN(96, 96, 3, 2, groups=96), (96, 112, 112)),
    ('depthwise3x3_s1/56x56x144', lambda: models.ConvBN(144, 144, 3, groups=144), (144, 56, 56)),
    ('depthwise3x3_s1/14x14x576', lambda: models.ConvBN(576, 576, 3, groups=576), (576, 14, 14)),
    ('depthwise5x5_s1/28x28x192', lambda: models.ConvBN(192, 192, 5, groups=192), (192, 28, 28)),
    ('pointwise/56x56x24->144', lambda: models.ConvBN(24, 144), (24, 56, 56)),
    ('pointwise/14x14x576->96', lambda: models.ConvBN(576, 96, act=None), (576, 14, 14)),
    ('pointwise/7x7x320->1280', lambda: models.ConvBN(320, 1280), (320, 7, 7)),
    ('dense/1280->1000', lambda: torch.nn.Linear(1280, 1000), (1280,)),
    ('fused_inverted_residual/56x56x24_e144', lambda: _inverted_residual(24), (24, 56, 56)),
    ('fused_inverted_residual/7x7x160_e960', lambda: _inverted_residual(160), (160, 7, 7)),
    ('fused_l_bottleneck/16x16x24_e96', lambda: models.LBottleneck(24, 24, 1), (24, 16, 16)),
]


def time_ms(fn, runs, repeats):
    """Median over `repeats` of the device time of `runs` back-to-back calls, per call."""
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        for _ in range(runs):
            fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / runs)
    return statistics.median(times)


def measure(build, shape, batch, args):
    """(eager ms, graph ms) of the module `build()` on a batch of inputs of `shape`."""
    torch.manual_seed(0)
    model = build().cuda().eval()
    x = torch.randn(batch, *shape, device='cuda')
    if x.dim() == 4:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    runs = 20 if batch == 1 or x[0].numel() <= 3 * 32 * 32 else 3
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(x)
        torch.cuda.synchronize()
        eager = time_ms(lambda: model(x), runs, args.repeats)

        # Capture on a side stream after warming it up, as torch.cuda.graphs recommends.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                model(x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x)
        for _ in range(args.warmup):
            graph.replay()
        torch.cuda.synchronize()
        graphed = time_ms(graph.replay, runs, args.repeats)
    del graph, model, x
    torch.cuda.empty_cache()
    return eager, graphed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='write the results here, one JSON object per line')
    parser.add_argument('--batches', default='1,256')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--no-layers', action='store_true', help='networks only')
    parser.add_argument('--tf32', action='store_true',
                        help="PyTorch's default TF32 convolutions instead of fp32")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit('torch_bench.py: this PyTorch sees no CUDA device')
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    device = torch.cuda.get_device_name()
    print(f'# torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {device}, '
          f'{"tf32" if args.tf32 else "fp32"}')
    common = {'device': device, 'torch': torch.__version__,
              'cudnn': torch.backends.cudnn.version(), 'tf32': args.tf32}
    results = []
    for batch in (int(b) for b in args.batches.split(',')):
        for name, size, build, channels in CASES:
            eager, graphed = measure(build, (channels, size, size), batch, args)
            results.append({'model': name, 'size': f'{size}x{size}', 'batch': batch,
                            'torch_ms': eager, 'torch_graph_ms': graphed, **common})
            print(f"{name:20} {f'{size}x{size}':8} batch={batch:<4} eager {eager:9.4f} ms"
                  f"   graph {graphed:9.4f} ms", flush=True)
    if not args.no_layers:
        for batch in (1, 64):
            for name, build, shape in LAYERS:
                eager, graphed = measure(build, shape, batch, args)
                results.append({'layer': name, 'batch': batch, 'torch_ms': eager,
                                'torch_graph_ms': graphed, **common})
                print(f"layer/{name:45} batch={batch:<4} eager {eager:9.4f} ms"
                      f"   graph {graphed:9.4f} ms", flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            for r in results:
                f.write(json.dumps(r) + '\n')


if __name__ == '__main__':
    main()
