"""Reads what scripts/compare-peers measured and prints the comparison.

Inputs (in the directory given): simd.json, onednn.json, xnnpack.json (Google Benchmark JSON of
bench_simd, bench_onednn, bench_xnnpack), torch_<threads>.jsonl (tools/bench_torch.py),
peak_rss.txt (lmnet_peak_rss), simd_pointwise_<round>.json (each pointwise layer's fraction of
the FMA peak, the two timed in alternation, then the median over rounds, so that a slow spell
lowers both alike), simd_threads_<round>.json (MobileNetV2 224x224 on one and two threads in
alternation: the speedup of two threads, the median over rounds). The networks are
timed in rounds, lmnet and PyTorch in turn, so that a slow spell of a shared machine falls on all
of them alike: simd.json holds a median per network per round, torch_<threads>.jsonl a line per
network per round, and a network's figure is the median over its rounds. Writes performance.md
and performance.png there, and prints the tables, then one line per target ('check ...':
L-Mobilenet's speedups, the speedup of two threads, the pointwise layers' fractions of the FMA
peak, peak memory, the weight read at 32x32), then, last, one line per network case and the
peak line:

  network <model> <HxW> threads=<n> lmnet_ms=<a> onednn_ms=<b> xnnpack_ms=<c> ratio_best=<a/min(b,c)>
  peak_gflops=<p> pointwise_best_fraction=<f>
"""

import glob
import json
import os
import re
import statistics
import sys

CASES = [('mobilenet_v2', 224), ('mobilenet_v2', 32), ('mobilenet_v2_cifar', 32),
         ('shufflenet_v2_cifar', 32), ('l_mobilenet', 32)]
THREADS = [1, 2]


def load_benchmarks(path):
    """name -> {'ms': median real time in ms, 'gflops': median GFLOP/s, 'label': ...}."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data['benchmarks']:
        if b.get('error_occurred'):
            continue
        # Benchmarks timed in real time (the multi-threaded ones) carry a '/real_time' suffix.
        name = re.sub(r'/real_time$', '', b.get('run_name', b['name']))
        if b.get('run_type') == 'aggregate' and b.get('aggregate_name') != 'median':
            continue
        unit = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}[b.get('time_unit', 'ns')]
        runs.setdefault(name, []).append({
            'ms': b['real_time'] * unit,
            'gflops': b.get('GFLOP/s', 0.0),
            'gbps': b.get('GB/s', 0.0),
            'mb': b.get('MB', 0.0),
            'label': b.get('label', ''),
            'fraction_of_peak': b.get('fraction_of_peak'),
            'speedup': b.get('speedup'),
        })
    # A median aggregate when there is one, else the median of the repetitions.
    result = {}
    for name, values in runs.items():
        result[name] = {
            'ms': statistics.median(v['ms'] for v in values),
            'gflops': statistics.median(v['gflops'] for v in values),
            'gbps': statistics.median(v['gbps'] for v in values),
            'mb': values[0]['mb'],
            'label': values[0]['label'],
            'ms_range': (min(v['ms'] for v in values), max(v['ms'] for v in values)),
            'best_gflops': max(v['gflops'] for v in values),
        }
        for counter in ('fraction_of_peak', 'speedup'):
            if values[0][counter] is not None:
                result[name][counter] = statistics.median(v[counter] for v in values)
    return result


def paired_fractions(directory):
    """layer name -> its fraction of the FMA peak: in each simd_pointwise_<round>.json, the
    paired/<net>/<layer> benchmark's fraction_of_peak (the layer and the peak timed in alternation,
    100 us each, the median over the pairs); then the median over rounds."""
    per_layer = {}
    for path in sorted(glob.glob(os.path.join(directory, 'simd_pointwise_*.json'))):
        for name, r in load_benchmarks(path).items():
            if name.startswith('paired/') and r.get('fraction_of_peak') is not None:
                layer = 'layer/' + name[len('paired/'):] + '/lmnet'
                per_layer.setdefault(layer, []).append(r['fraction_of_peak'])
    return {name: statistics.median(v) for name, v in per_layer.items()}


def paired_threads_speedup(directory):
    """The speedup of two threads over one for MobileNetV2 224x224, from the rounds'
    paired/threads benchmark (bursts on one and two threads in alternation, the median ratio of
    the pairs): the median over rounds and the number of rounds, or (None, 0)."""
    speedups = []
    for path in sorted(glob.glob(os.path.join(directory, 'simd_threads_*.json'))):
        r = load_benchmarks(path).get('paired/threads/mobilenet_v2/224x224')
        if r and r.get('speedup'):
            speedups.append(r['speedup'])
    return (statistics.median(speedups), len(speedups)) if speedups else (None, 0)


def load_torch(directory):
    """(network, size, threads) -> {'onednn_ms', 'xnnpack_ms'}: medians over the rounds."""
    rounds = {}
    for threads in THREADS:
        path = os.path.join(directory, f'torch_{threads}.jsonl')
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith('{'):
                    r = json.loads(line)
                    rounds.setdefault((r['network'], r['size'], r['threads']), []).append(r)
    return {key: {peer: statistics.median(r[peer] for r in runs)
                  for peer in ('onednn_ms', 'xnnpack_ms')}
            for key, runs in rounds.items()}


def layer_rows(simd, onednn, xnnpack, peak, paired):
    """One row per layer; its fraction of the peak is the paired one (paired_fractions) where the
    layer has one, else its GFLOP/s over the better peak of the run."""
    rows = []
    for name, r in simd.items():
        m = re.match(r'layer/([^/]+)/(\d+)_([^/]+)/lmnet$', name)
        if not m:
            continue
        base = name[:-len('/lmnet')]
        o = onednn.get(base + '/onednn')
        x = xnnpack.get(base + '/xnnpack')
        rows.append({
            'network': m.group(1), 'node': int(m.group(2)), 'shape': m.group(3),
            'lmnet_us': r['ms'] * 1e3, 'lmnet_gflops': r['gflops'],
            'onednn_us': o['ms'] * 1e3 if o else None, 'xnnpack_us': x['ms'] * 1e3 if x else None,
            'fraction': paired.get(name, r['gflops'] / peak if peak else 0.0),
            'repeats': r['label'],
        })
    rows.sort(key=lambda r: (r['network'], r['node']))
    return rows


def fmt(v, digits=1):
    return '-' if v is None else f'{v:.{digits}f}'


def pointwise_inputs(shape):
    m = re.match(r'pointwise_\d+x\d+x(\d+)_to_', shape)
    return int(m.group(1)) if m else 0


def plot(directory, networks, layers, peak):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (a, b) = plt.subplots(2, 1, figsize=(12, 9))
    labels = [f"{n['model']} {n['size']}\nthreads={n['threads']}" for n in networks]
    xs = range(len(networks))
    width = 0.27
    for i, (key, name) in enumerate([('lmnet_ms', 'lmnet simd'), ('onednn_ms', 'PyTorch oneDNN'),
                                     ('xnnpack_ms', 'PyTorch XNNPACK')]):
        a.bar([x + (i - 1) * width for x in xs], [n[key] or 0 for n in networks], width,
              label=name)
    a.set_yscale('log')
    a.set_ylabel('batch-1 latency, ms (log)')
    a.set_xticks(list(xs))
    a.set_xticklabels(labels, fontsize=7)
    a.legend()
    a.set_title('Networks: median latency')
    mb = [r for r in layers if r['network'].startswith('mobilenet_v2')]
    xs = range(len(mb))
    for i, (key, name) in enumerate([('lmnet_us', 'lmnet'), ('onednn_us', 'oneDNN'),
                                     ('xnnpack_us', 'XNNPACK')]):
        b.bar([x + (i - 1) * width for x in xs],
              [r['lmnet_gflops'] * r['lmnet_us'] / r[key] if r[key] else 0 for r in mb], width,
              label=name)
    b.axhline(peak, color='k', linestyle='--', linewidth=1, label=f'FMA peak {peak:.0f}')
    b.axhline(peak / 2, color='gray', linestyle=':', linewidth=1, label='half of peak')
    b.set_ylabel('GFLOP/s')
    b.set_xticks(list(xs))
    b.set_xticklabels([r['shape'].replace('_to_', '>') for r in mb], rotation=90, fontsize=6)
    b.legend(fontsize=7)
    b.set_title('MobileNetV2 224x224 layers alone, one thread')
    fig.tight_layout()
    path = os.path.join(directory, 'performance.png')
    fig.savefig(path, dpi=110)
    return path


def ratio(a, b):
    return a / b if a and b else None


def done_when_lines(networks, fractions, rss_path, weight_read, threads_speedup):
    """The figures the targets of the simd backend are read from, one line each with its target.
    The speedup of two threads is the paired one where it was measured (paired_threads_speedup);
    the ratio of the network medians, timed apart, follows it."""
    ms = {(n['model'], n['size'], n['threads']): n['lmnet_ms'] for n in networks}
    by_case = {(n['model'], n['size'], n['threads']): n for n in networks}
    medians_ratio = ratio(ms[('mobilenet_v2', 224, 1)], ms[('mobilenet_v2', 224, 2)])
    paired, rounds = threads_speedup
    lines = [
        'check l_mobilenet_speedup threads=1 vs_mobilenet_v2_cifar='
        f"{fmt(ratio(ms[('mobilenet_v2_cifar', 32, 1)], ms[('l_mobilenet', 32, 1)]), 2)} "
        f"(target >=3) vs_shufflenet_v2_cifar="
        f"{fmt(ratio(ms[('shufflenet_v2_cifar', 32, 1)], ms[('l_mobilenet', 32, 1)]), 2)} "
        '(target >=2)',
        'check threads_speedup mobilenet_v2 224x224 threads=2_vs_1='
        f"{fmt(paired if paired else medians_ratio, 2)} (target >=1.6; paired rounds={rounds}) "
        f"network_medians_ratio={fmt(medians_ratio, 2)}",
    ]
    if fractions:
        lines.append(f'check pointwise_ge64_inputs layers={len(fractions)} '
                     f'fraction_of_peak min={min(fractions):.3f} '
                     f'median={statistics.median(fractions):.3f} max={max(fractions):.3f} '
                     '(target >=0.5)')
    if os.path.exists(rss_path):
        lines.append('check mobilenet_v2 224x224 threads=1 ' + open(rss_path).read().strip())
    small = by_case.get(('mobilenet_v2', 32, 1))
    best = min((v for v in (small['onednn_ms'], small['xnnpack_ms']) if v), default=None) \
        if small else None
    if weight_read and small and small['lmnet_ms'] and best:
        # At 32x32 the weights dominate: an inference reads every one of them once, so one read
        # of the packed weights is a floor no fp32 kernel on this machine can go under.
        lines.append(f"check mobilenet_v2 32x32 threads=1 weights_mb={weight_read['mb']:.1f} "
                     f"weight_read_ms={weight_read['ms']:.3f} ({weight_read['gbps']:.1f} GB/s) "
                     f"lmnet_ms={small['lmnet_ms']:.3f} target_ms={0.25 * best:.3f} "
                     f"(0.25 of the best peer)")
    return lines


def main():
    directory = sys.argv[1]
    simd = load_benchmarks(os.path.join(directory, 'simd.json'))
    onednn = load_benchmarks(os.path.join(directory, 'onednn.json'))
    xnnpack = load_benchmarks(os.path.join(directory, 'xnnpack.json'))
    torch = load_torch(directory)
    # The better of the two peaks (before and after the layers): one read in a slow spell of a
    # shared machine would flatter every layer's fraction of it.
    peak = simd.get('peak/fma', {}).get('best_gflops', 0.0)
    layers = layer_rows(simd, onednn, xnnpack, peak, paired_fractions(directory))

    networks = []
    for model, size in CASES:
        for threads in THREADS:
            r = simd.get(f'network/{model}/{size}x{size}/threads:{threads}')
            t = torch.get((model, size, threads), {})
            lmnet_ms = r['ms'] if r else None
            best = min(t.get('onednn_ms', float('inf')), t.get('xnnpack_ms', float('inf')))
            networks.append({'model': model, 'size': size, 'threads': threads,
                             'lmnet_ms': lmnet_ms, 'lmnet_range': r['ms_range'] if r else None,
                             'onednn_ms': t.get('onednn_ms'),
                             'xnnpack_ms': t.get('xnnpack_ms'),
                             'ratio': lmnet_ms / best if lmnet_ms and best < float('inf') else None})

    wide = [r for r in layers if pointwise_inputs(r['shape']) >= 64]
    fractions = [r['fraction'] for r in wide]
    best_fraction = max(fractions) if fractions else 0.0

    lines = []
    lines.append('| network | input | threads | lmnet ms | lmnet ms, rounds | PyTorch oneDNN ms | '
                 'PyTorch XNNPACK ms | lmnet / best peer |')
    lines.append('|---|---|---:|---:|---:|---:|---:|---:|')
    for n in networks:
        spread = '-' if n['lmnet_range'] is None else \
            f"{n['lmnet_range'][0]:.3f} to {n['lmnet_range'][1]:.3f}"
        lines.append(f"| {n['model']} | {n['size']}x{n['size']} | {n['threads']} | "
                     f"{fmt(n['lmnet_ms'], 3)} | {spread} | {fmt(n['onednn_ms'], 3)} | "
                     f"{fmt(n['xnnpack_ms'], 3)} | {fmt(n['ratio'], 2)} |")
    lines.append('')
    lines.append('| layer (network, node, shape) | same shape | lmnet us | lmnet GFLOP/s | '
                 'of peak | oneDNN us | XNNPACK us |')
    lines.append('|---|---:|---:|---:|---:|---:|---:|')
    for r in layers:
        lines.append(f"| {r['network']} {r['node']:02d} {r['shape']} | {r['repeats'] or 'x1'} | "
                     f"{fmt(r['lmnet_us'])} | {fmt(r['lmnet_gflops'])} | "
                     f"{r['fraction'] * 100:.0f}% | {fmt(r['onednn_us'])} | "
                     f"{fmt(r['xnnpack_us'])} |")
    blocks = sorted((k, v) for k, v in simd.items() if k.startswith('block/'))
    if blocks:
        lines.append('')
        lines.append('| fused block (network, projection node, in -> out) | lmnet us | GFLOP/s |')
        lines.append('|---|---:|---:|')
        for name, v in blocks:
            lines.append(f"| {name[len('block/'):].replace('/', ' ')} | {v['ms'] * 1e3:.1f} | "
                         f"{v['gflops']:.1f} |")
    summary = []
    if fractions:
        summary.append(f'Pointwise layers with >= 64 input channels ({len(fractions)} shapes): '
                       f'{min(fractions) * 100:.0f}% to {max(fractions) * 100:.0f}% of the FMA '
                       f'peak, median {statistics.median(fractions) * 100:.0f}%.')
    rss_path = os.path.join(directory, 'peak_rss.txt')
    if os.path.exists(rss_path):
        summary.append('MobileNetV2 224x224 process on the simd backend: ' +
                       open(rss_path).read().strip() + '.')
    weight_read = simd.get('memory/weights/mobilenet_v2')
    if weight_read:
        summary.append(f"One read of MobileNetV2's packed weights ({weight_read['mb']:.1f} MB, "
                       f"`memory/weights/mobilenet_v2`): {weight_read['ms']:.3f} ms, "
                       f"{weight_read['gbps']:.1f} GB/s on one core.")
    table = '\n'.join(lines + [''] + summary)
    with open(os.path.join(directory, 'performance.md'), 'w') as f:
        f.write(table + '\n')
    plot(directory, networks, layers, peak)

    print(table)
    print()
    for line in done_when_lines(networks, fractions, rss_path, weight_read,
                                paired_threads_speedup(directory)):
        print(line)
    for n in networks:
        print(f"network {n['model']} {n['size']}x{n['size']} threads={n['threads']} "
              f"lmnet_ms={fmt(n['lmnet_ms'], 3)} onednn_ms={fmt(n['onednn_ms'], 3)} "
              f"xnnpack_ms={fmt(n['xnnpack_ms'], 3)} ratio_best={fmt(n['ratio'], 3)}")
    print(f'peak_gflops={peak:.1f} pointwise_best_fraction={best_fraction:.3f}')


if __name__ == '__main__':
    main()
