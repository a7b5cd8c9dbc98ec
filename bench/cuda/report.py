#!/usr/bin/env python3
"""Joins bench_cuda's Google Benchmark JSON (median aggregates) with torch_bench.py's results and
prints, for each network case, one line:

  cuda <model> <HxW> batch=<n> lmnet_ms=<a> torch_ms=<b> torch_graph_ms=<c> ratio_best=<a/min(b,c)>

preceded by the GPU, the per-layer timings (beside PyTorch's where it ran them) and a table that also shows the unfused engine, and
followed by one line per target (ratio_best <= 0.5 for mobilenet_v2 224x224 and l_mobilenet 32x32
at batch 1, <= 1.0 for every network at batch 256). Without PyTorch results the PyTorch figures
read n/a.

  report.py LMNET_JSON TORCH_JSONL [GPU_TXT]
"""

import json
import math
import re
import sys

# (model, size, batch) -> the largest ratio_best allowed.
TARGETS = {
    ('mobilenet_v2', '224x224', 1): 0.5,
    ('l_mobilenet', '32x32', 1): 0.5,
    ('mobilenet_v2', '224x224', 256): 1.0,
    ('l_mobilenet', '32x32', 256): 1.0,
    ('mobilenet_v2_cifar', '32x32', 256): 1.0,
}


def lmnet_medians(path):
    """name -> median real time in ms (manual time, per run)."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data['benchmarks']:
        if b.get('error_occurred'):
            print(f"lmnet {b['name']}: {b.get('error_message', 'failed')}")
            continue
        if b.get('run_type') == 'aggregate' and b.get('aggregate_name') != 'median':
            continue
        name = b.get('run_name', b['name'])
        name = re.sub(r'/manual_time$', '', name)
        scale = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}[b.get('time_unit', 'ns')]
        out[name] = b['real_time'] * scale
    return out


def network_cases(lmnet):
    """(model, size, batch) of every fused network case bench_cuda ran."""
    cases = []
    for key in lmnet:
        m = re.fullmatch(r'network/([^/]+)/([^/]+)/batch:(\d+)', key)
        if m:
            cases.append((m.group(1), m.group(2), int(m.group(3))))
    return sorted(cases, key=lambda c: (c[2], c[0]))


def fmt(value):
    return 'n/a' if value is None or math.isnan(value) else f'{value:.4f}'


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    lmnet = lmnet_medians(sys.argv[1])
    with open(sys.argv[2]) as f:
        torch_rows = [json.loads(line) for line in f if line.strip()]
    torch = {(r['model'], r['size'], r['batch']): r for r in torch_rows if 'model' in r}
    torch_layers = {f"layer/{r['layer']}/batch:{r['batch']}": r for r in torch_rows if 'layer' in r}
    if len(sys.argv) == 4:
        with open(sys.argv[3]) as f:
            print(f.read().strip())
        print()

    layers = sorted(k for k in lmnet if k.startswith('layer/'))
    if layers:
        print('per layer, median ms per run (ratio: lmnet / the faster of eager and graph):')
        print(f"  {'':60} {'lmnet':>9} {'torch':>9} {'graph':>9} {'ratio':>7}")
        for k in layers:
            row = torch_layers.get(k)
            b = row['torch_ms'] if row else math.nan
            c = row['torch_graph_ms'] if row else math.nan
            ratio = lmnet[k] / min(b, c) if row else math.nan
            print(f'  {k:60} {fmt(lmnet[k]):>9} {fmt(b):>9} {fmt(c):>9} {fmt(ratio):>7}')
        print()
    if torch_rows:
        r = torch_rows[0]
        print(f"PyTorch {r.get('torch', '?')}, cuDNN {r.get('cudnn', '?')} on {r['device']}, "
              f"{'tf32' if r.get('tf32') else 'fp32'}")
    else:
        print('no PyTorch results')
    print(f"  {'model':20} {'size':8} {'batch':>5} {'lmnet':>9} {'unfused':>9} {'torch':>9} "
          f"{'graph':>9} {'ratio':>7}")
    lines, ratios = [], {}
    for case in network_cases(lmnet):
        model, size, batch = case
        key = f'network/{model}/{size}/batch:{batch}'
        a = lmnet[key]
        unfused = lmnet.get(key + '/unfused', math.nan)
        row = torch.get(case)
        b = row['torch_ms'] if row else math.nan
        c = row['torch_graph_ms'] if row else math.nan
        ratio = a / min(b, c) if row else math.nan
        ratios[case] = ratio
        print(f'  {model:20} {size:8} {batch:>5} {fmt(a):>9} {fmt(unfused):>9} {fmt(b):>9} '
              f'{fmt(c):>9} {fmt(ratio):>7}')
        lines.append(f'cuda {model} {size} batch={batch} lmnet_ms={fmt(a)} torch_ms={fmt(b)} '
                     f'torch_graph_ms={fmt(c)} ratio_best={"n/a" if row is None else f"{ratio:.3f}"}')
    print()
    for line in lines:
        print(line)
    for case, limit in TARGETS.items():
        ratio = ratios.get(case, math.nan)
        verdict = 'n/a' if math.isnan(ratio) else ('met' if ratio <= limit else 'NOT met')
        print(f'target {case[0]} {case[1]} batch={case[2]} ratio_best<={limit}: {verdict}')


if __name__ == '__main__':
    main()
