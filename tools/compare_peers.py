"""Reads what scripts/compare-peers measured and prints the comparison.

Inputs (in the directory given): simd.json, onednn.json, xnnpack.json (Google Benchmark JSON of
bench_simd, bench_onednn, bench_xnnpack: layers, blocks, peak and lmnet's network rounds),
native_<peer>_<threads>_<round>.json (the native whole-network peers, bench_<peer>_network),
peers_<threads>.jsonl (the Python peers, tools/peers/run.py time: a line per peer, network and
round, with the empty model's per-call time), agreement_<peer>.jsonl (each peer's version,
settings and agreement with lmnet's output, or why it was skipped), export.jsonl (the ONNX
export every Python peer converts from), versions.jsonl, peak_rss.txt (lmnet_peak_rss),
simd_pointwise_<round>.json (each pointwise layer's fraction of the FMA peak, the two timed in
alternation, then the median over rounds, so that a slow spell lowers both alike),
simd_threads_<round>.json (MobileNetV2 224x224 on one and two threads in alternation: the
speedup of two threads, the median over rounds). The networks are timed in rounds, lmnet and
every peer in turn, so that a slow spell of a shared machine falls on all of them alike; a
network's figure is the median over its rounds. Writes performance.md and performance.png
there, and prints the tables, then one line per target ('check ...': L-Mobilenet's speedups, the
speedup of two threads, the pointwise layers' fractions of the FMA peak, peak memory, the weight
read at 32x32), the peak line, one line per Python peer and thread count with its empty model's
per-call time, then one line per network case and one per peer and model:

  peak_gflops=<p> pointwise_best_fraction=<f>
  overhead <peer> threads=<n> <input NCHW>=<ms> ...
  network <model> <HxW> threads=<n> lmnet_ms=<a> best_peer=<name> best_peer_ms=<b> ratio_best=<a/b> peers=<name>:<ms>,...
  network_int8 <model> <HxW> threads=<n> lmnet_ms=<a> lmnet_fp32_ms=<f> best_peer=<name> best_peer_ms=<b> ratio_best=<a/b> peers=<name>:<ms>,...
  agreement <peer> <model> <HxW> max_rel_err=<e>
  agreement_int8 <peer> <model> <HxW> max_rel_err=<e> top1_same=<0|1> max_rel_err_int8=<e8>
  skipped <peer> <model> <HxW>: <reason>

network_int8 lines are lmnet int8 (network_int8/... in simd.json) against the int8 peers (named
<runtime>_int8), each in its own int8; agreement_int8 compares an int8 output with lmnet's fp32
output (max_rel_err, top1_same) and, for the peers, with lmnet int8's (max_rel_err_int8); its
first line per network is lmnet int8 itself (from export.jsonl).
"""

import collections
import glob
import json
import os
import re
import statistics
import sys

CASES = [('mobilenet_v2', 224), ('mobilenet_v2', 32), ('mobilenet_v2_cifar', 32),
         ('shufflenet_v2_cifar', 32), ('l_mobilenet', 32)]
# The cases of a run of some of them (scripts/compare-peers --cases: LMNET_PEER_CASES, names
# <model>_<size>, comma-separated); the report leaves the others out.
if os.environ.get('LMNET_PEER_CASES'):
    CASES = [c for c in CASES if f'{c[0]}_{c[1]}' in os.environ['LMNET_PEER_CASES'].split(',')]
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


# The peers in the order of the tables: the native C++ ones, then the Python ones (tools/peers);
# "<peer>_app" is the peer's model timed by the peer's own benchmark tool.
NATIVE_PEERS = ['onednn', 'xnnpack', 'xnnpack_int8']
PYTHON_PEERS = ['onnxruntime', 'openvino', 'openvino_app', 'ncnn', 'mnn', 'litert', 'litert_app',
                'pytorch', 'onnxruntime_int8', 'openvino_int8', 'openvino_int8_app', 'litert_int8',
                'litert_int8_app']


def is_int8(peer):
    """Whether a peer runs in int8 (tools/peers/__init__.py: <runtime>_int8[_app])."""
    return '_int8' in peer


def read_jsonl(path):
    """The JSON lines of a file, skipping what else a runtime printed there."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith('{')]


def load_native(directory):
    """(peer, network or network_int8, model, size, threads) -> median ms over the rounds of the
    native peers."""
    rounds = {}
    for path in glob.glob(os.path.join(directory, 'native_*_*_*.json')):
        peer = re.match(r'native_(.+)_\d+_\d+\.json$', os.path.basename(path)).group(1)
        try:
            runs = load_benchmarks(path)
        except ValueError:  # a run that crashed left no JSON
            continue
        for name, r in runs.items():
            m = re.match(r'(network|network_int8)/([^/]+)/(\d+)x\d+/threads:(\d+)$', name)
            if m:
                key = (peer, m.group(1), m.group(2), int(m.group(3)), int(m.group(4)))
                rounds.setdefault(key, []).append(r['ms'])
    return {key: statistics.median(v) for key, v in rounds.items()}


def load_python_peers(directory):
    """(peer, model, size, threads) -> {'ms', 'overhead_ms'}: medians over the rounds; and
    (peer, model, size) -> why a timing failed."""
    rounds, errors = {}, {}
    for threads in THREADS:
        for r in read_jsonl(os.path.join(directory, f'peers_{threads}.jsonl')):
            if 'ms' in r:
                rounds.setdefault((r['peer'], r['model'], r['size'], r['threads']), []).append(r)
            elif 'error' in r:
                errors[(r['peer'], r['model'], r['size'])] = r['error']
    result = {}
    for key, runs in rounds.items():
        overheads = [r['overhead_ms'] for r in runs if r.get('overhead_ms') is not None]
        result[key] = {'ms': statistics.median(r['ms'] for r in runs),
                       'overhead_ms': statistics.median(overheads) if overheads else None}
    return result, errors


def load_agreement(directory):
    """Each peer's version and settings, its agreement with lmnet per (model, size) (the largest
    over the thread counts), the cases it skipped with the reason, and the int8 peers' agreement
    records (max_rel_err, top1_same, max_rel_err_int8)."""
    peers, agreement, skipped, int8_agreement = {}, {}, {}, {}
    for path in sorted(glob.glob(os.path.join(directory, 'agreement_*.jsonl'))):
        for r in read_jsonl(path):
            name = r['peer']
            info = peers.setdefault(name, {'version': '', 'settings': ''})
            if r.get('version'):
                info['version'] = r['version']
            for field in ('settings', 'tool_of'):
                if r.get(field):
                    info[field] = r[field]
            if 'not_installed' in r:
                info['not_installed'] = r['not_installed']
            if 'model' not in r:
                continue
            key = (name, r['model'], r['size'])
            if key[1:] not in CASES:
                continue
            if 'skipped' in r:
                skipped[key] = r['skipped']
            elif 'max_rel_err' in r:
                agreement[key] = max(agreement.get(key, 0.0), r['max_rel_err'])
            if 'top1_same' in r and 'skipped' not in r:  # the worst over the thread counts
                seen = int8_agreement.setdefault(key, r)
                for field, worst in (('max_rel_err', max), ('max_rel_err_int8', max),
                                     ('top1_same', min)):
                    seen[field] = worst(seen[field], r[field])
    for r in read_jsonl(os.path.join(directory, 'versions.jsonl')):
        if 'peer' in r:
            info = peers.setdefault(r['peer'], {'version': '', 'settings': ''})
            info['package'] = r['package']
    return peers, agreement, skipped, int8_agreement


def lmnet_int8_agreement(directory):
    """(model, size) -> lmnet int8's output against lmnet fp32's (export.jsonl)."""
    return {(r['model'], r['size']): r for r in read_jsonl(os.path.join(directory, 'export.jsonl'))
            if 'lmnet_int8_max_rel_err' in r}


def export_errors(directory):
    """(model, size) -> why the ONNX export (which every Python peer converts from) failed."""
    return {(r['model'], r['size']): r['error']
            for r in read_jsonl(os.path.join(directory, 'export.jsonl')) if 'error' in r}


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
    fig, (a, b) = plt.subplots(2, 1, figsize=(13, 10))
    labels = [f"{n['model']} {n['size']}\nthreads={n['threads']}" for n in networks]
    xs = range(len(networks))
    series = [('lmnet', 'lmnet simd')] + [(p, p) for p in peer_order(networks)]
    width = 0.9 / len(series)
    for i, (key, name) in enumerate(series):
        values = [n['lmnet_ms'] if key == 'lmnet' else n['peers'].get(key) for n in networks]
        a.bar([x + (i - (len(series) - 1) / 2) * width for x in xs], [v or 0 for v in values],
              width, label=name)
    a.set_yscale('log')
    a.set_ylabel('batch-1 latency, ms (log)')
    a.set_xticks(list(xs))
    a.set_xticklabels(labels, fontsize=7)
    a.legend(fontsize=7, ncol=5)
    a.set_title('Networks: median latency over the rounds (no bar: the peer was skipped)')
    width = 0.27
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
    # A case the run left out (--cases, --threads) reads as None: its figures are '-'.
    ms = collections.defaultdict(lambda: None)
    ms.update({(n['model'], n['size'], n['threads']): n['lmnet_ms'] for n in networks})
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
    best = small['best_ms'] if small else None
    if weight_read and small and small['lmnet_ms'] and best:
        # At 32x32 the weights dominate: an inference reads every one of them once, so one read
        # of the packed weights is a floor no fp32 kernel on this machine can go under.
        lines.append(f"check mobilenet_v2 32x32 threads=1 weights_mb={weight_read['mb']:.1f} "
                     f"weight_read_ms={weight_read['ms']:.3f} ({weight_read['gbps']:.1f} GB/s) "
                     f"lmnet_ms={small['lmnet_ms']:.3f} target_ms={0.25 * best:.3f} "
                     f"(0.25 of the best peer)")
    return lines


def peer_order(networks):
    """The peers timed on any network, in the order of the tables."""
    seen = {p for n in networks for p in n['peers']}
    known = NATIVE_PEERS + PYTHON_PEERS
    return [p for p in known if p in seen] + sorted(seen - set(known))


def network_rows(simd, native, python_peers, int8=False):
    """One row per network case and thread count: lmnet fp32 and the fp32 peers, or (int8) lmnet
    int8 and the int8 peers, with lmnet fp32's time beside them."""
    rows = []
    for model, size in CASES:
        for threads in THREADS:
            case = f'{model}/{size}x{size}/threads:{threads}'
            r = simd.get(('network_int8/' if int8 else 'network/') + case)
            fp32 = simd.get('network/' + case)
            peers = {}
            overheads = {}
            for (peer, kind, m, sz, t), ms in native.items():
                if (m, sz, t) == (model, size, threads) and is_int8(peer) == int8 and \
                        kind == ('network_int8' if int8 else 'network'):
                    peers[peer] = ms
            for (peer, m, sz, t), v in python_peers.items():
                if (m, sz, t) == (model, size, threads) and is_int8(peer) == int8:
                    peers[peer] = v['ms']
                    overheads[peer] = v['overhead_ms']
            if r is None and not peers:  # a case or thread count the run left out
                continue
            best = min(peers, key=peers.get) if peers else None
            lmnet_ms = r['ms'] if r else None
            rows.append({'model': model, 'size': size, 'threads': threads, 'lmnet_ms': lmnet_ms,
                         'lmnet_fp32_ms': fp32['ms'] if fp32 else None,
                         'lmnet_range': r['ms_range'] if r else None, 'peers': peers,
                         'overheads': overheads, 'best': best,
                         'best_ms': peers[best] if best else None,
                         'ratio': ratio(lmnet_ms, peers[best]) if best else None})
    return rows


def skipped_lines(peers, agreement, skipped, networks, exported, timing_errors):
    """One line per peer and model that was not measured, with the reason."""
    lines = []
    timed = {(p, n['model'], n['size']) for n in networks for p in n['peers']}
    names = set(peers) | {p for p, _, _ in timing_errors}
    for name in [p for p in NATIVE_PEERS + PYTHON_PEERS if p in names] + \
            sorted(names - set(NATIVE_PEERS + PYTHON_PEERS)):
        for model, size in CASES:
            key = (name, model, size)
            if key in timed:
                continue
            tool_of = peers.get(name, {}).get('tool_of')
            if key in timing_errors:
                why = timing_errors[key]
            elif name not in peers:
                continue
            elif tool_of:  # a peer's benchmark tool runs the models the peer prepared
                if (tool_of, model, size) not in agreement:
                    continue  # the peer's own line says why
                why = 'no timing came back (see peers.log)'
            elif key in skipped:
                why = skipped[key]
            elif 'not_installed' in peers[name]:
                why = peers[name]['not_installed']
            elif (model, size) in exported:
                why = f'the ONNX export it converts from failed: {exported[(model, size)]}'
            elif key in agreement:
                why = 'agrees with lmnet but no timing came back (see peers.log)'
            else:
                why = 'no result (see agreement.log)'
            lines.append(f'skipped {name} {model} {size}x{size}: {why}')
    return lines


def overhead_lines(networks):
    """Per Python peer and thread count: the empty model's per-call time for each input shape."""
    lines = []
    for peer in peer_order(networks):
        for threads in THREADS:
            shapes = {}
            for n in networks:
                o = n['overheads'].get(peer)
                if n['threads'] == threads and o is not None:
                    channels = 3 if n['model'] == 'mobilenet_v2' else 1
                    shapes[f"1x{channels}x{n['size']}x{n['size']}"] = o
            if shapes:
                lines.append(f'overhead {peer} threads={threads} ' +
                             ' '.join(f'{k}={v:.4f}' for k, v in shapes.items()))
    return lines


def peer_table(peers, agreement):
    order = [p for p in NATIVE_PEERS + PYTHON_PEERS if p in peers] + \
        sorted(set(peers) - set(NATIVE_PEERS + PYTHON_PEERS))
    lines = ['| peer | version | how it runs | max_rel_err against lmnet (worst network) |',
             '|---|---|---|---:|']
    for name in order:
        info = peers[name]
        version = ' / '.join(v for v in (info.get('version'), info.get('package')) if v) or '-'
        settings = info.get('settings') or NATIVE_SETTINGS.get(name, '')
        errors = [e for (p, _, _), e in agreement.items() if p == name]
        worst = f'{max(errors):.1e}' if errors else '-'
        if info.get('tool_of'):
            version, worst = f"({info['tool_of']})", f"({info['tool_of']})"
        lines.append(f'| {name} | {version} | {settings} | {worst} |')
    return lines


def int8_table(networks_int8):
    """The int8 networks: lmnet int8 beside lmnet fp32 and the int8 peers."""
    order = peer_order(networks_int8)
    lines = ['In int8 (lmnet: backend::int8<backend::simd<>>, calibrated on 4 random images; each '
             'peer in its own int8): milliseconds per inference, batch 1, the median over rounds.',
             '',
             '| network | input | threads | lmnet int8 ms | lmnet fp32 ms | ' +
             ' | '.join(order) + ' | best int8 peer | lmnet int8 / best |',
             '|---|---|---:|---:|---:|' + '---:|' * len(order) + '---|---:|']
    for n in networks_int8:
        cells = [fmt(n['peers'].get(p), 3) for p in order]
        lines.append(f"| {n['model']} | {n['size']}x{n['size']} | {n['threads']} | "
                     f"{fmt(n['lmnet_ms'], 3)} | {fmt(n['lmnet_fp32_ms'], 3)} | " +
                     ' | '.join(cells) + f" | {n['best'] or '-'} | {fmt(n['ratio'], 2)} |")
    return lines


NATIVE_SETTINGS = {
    'onednn': 'C++: a chain of oneDNN primitives built from lmnet\'s plan and folded weights '
              '(bench/bench_onednn_network.cpp): NHWC activations, weights in the layout each '
              'primitive asks for, ReLU/ReLU6 as eltwise post-ops, residual adds as sum post-ops; '
              'OpenMP threads',
    'xnnpack': 'C++: XNNPACK\'s subgraph API built from lmnet\'s plan and folded weights '
               '(bench/bench_xnnpack_network.cpp), the runtime TFLite\'s delegate uses; '
               'ReLU/ReLU6 as output clamps; the caller thread, or a pthreadpool of n',
    'xnnpack_int8': 'C++: XNNPACK\'s int8 (QS8) subgraph built from lmnet\'s int8 network '
                    '(bench_xnnpack_network --int8): lmnet\'s quant params (zero points less '
                    '128) and int8 weights, per-channel filters and int32 biases, fp32 in and '
                    'out through convert nodes; as xnnpack otherwise',
}


def main():
    directory = sys.argv[1]
    simd = load_benchmarks(os.path.join(directory, 'simd.json'))
    onednn = load_benchmarks(os.path.join(directory, 'onednn.json'))
    xnnpack = load_benchmarks(os.path.join(directory, 'xnnpack.json'))
    # The better of the two peaks (before and after the layers): one read in a slow spell of a
    # shared machine would flatter every layer's fraction of it.
    peak = simd.get('peak/fma', {}).get('best_gflops', 0.0)
    layers = layer_rows(simd, onednn, xnnpack, peak, paired_fractions(directory))
    python_peers, timing_errors = load_python_peers(directory)
    native = load_native(directory)
    networks = network_rows(simd, native, python_peers)
    networks_int8 = network_rows(simd, native, python_peers, int8=True)
    peers, agreement, skipped, int8_agreement = load_agreement(directory)
    order = peer_order(networks)

    wide = [r for r in layers if pointwise_inputs(r['shape']) >= 64]
    fractions = [r['fraction'] for r in wide]
    best_fraction = max(fractions) if fractions else 0.0

    lines = peer_table(peers, agreement)
    lines.append('')
    lines.append('Milliseconds per inference, batch 1, the median over rounds; for the Python '
                 'peers, the time of one call of an empty model in the same API follows in '
                 'parentheses (included in the time, not subtracted).')
    lines.append('')
    lines.append('| network | input | threads | lmnet ms | lmnet ms, rounds | ' +
                 ' | '.join(order) + ' | best peer | lmnet / best peer |')
    lines.append('|---|---|---:|---:|---:|' + '---:|' * len(order) + '---|---:|')
    for n in networks:
        spread = '-' if n['lmnet_range'] is None else \
            f"{n['lmnet_range'][0]:.3f} to {n['lmnet_range'][1]:.3f}"
        cells = []
        for p in order:
            v, o = n['peers'].get(p), n['overheads'].get(p)
            cells.append(fmt(v, 3) + (f' ({o:.3f})' if v is not None and o is not None else ''))
        lines.append(f"| {n['model']} | {n['size']}x{n['size']} | {n['threads']} | "
                     f"{fmt(n['lmnet_ms'], 3)} | {spread} | " + ' | '.join(cells) +
                     f" | {n['best'] or '-'} | {fmt(n['ratio'], 2)} |")
    lines.append('')
    lines += int8_table(networks_int8)
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
    print(f'peak_gflops={peak:.1f} pointwise_best_fraction={best_fraction:.3f}')
    for line in overhead_lines(networks + networks_int8):
        print(line)
    for n in networks:
        print(f"network {n['model']} {n['size']}x{n['size']} threads={n['threads']} "
              f"lmnet_ms={fmt(n['lmnet_ms'], 3)} best_peer={n['best'] or '-'} "
              f"best_peer_ms={fmt(n['best_ms'], 3)} ratio_best={fmt(n['ratio'], 3)} peers=" +
              ','.join(f'{p}:{n["peers"][p]:.3f}' for p in order if p in n['peers']))
    order_int8 = peer_order(networks_int8)
    for n in networks_int8:
        print(f"network_int8 {n['model']} {n['size']}x{n['size']} threads={n['threads']} "
              f"lmnet_ms={fmt(n['lmnet_ms'], 3)} lmnet_fp32_ms={fmt(n['lmnet_fp32_ms'], 3)} "
              f"best_peer={n['best'] or '-'} best_peer_ms={fmt(n['best_ms'], 3)} "
              f"ratio_best={fmt(n['ratio'], 3)} peers=" +
              ','.join(f'{p}:{n["peers"][p]:.3f}' for p in order_int8 if p in n['peers']))

    def report_order(item):
        (peer, model, size) = item[0]
        known = NATIVE_PEERS + PYTHON_PEERS
        return (known.index(peer) if peer in known else 99,
                CASES.index((model, size)) if (model, size) in CASES else 99)
    for (peer, model, size), e in sorted(agreement.items(), key=report_order):
        if not is_int8(peer):
            print(f'agreement {peer} {model} {size}x{size} max_rel_err={e:.1e}')
    for (model, size), r in sorted(lmnet_int8_agreement(directory).items(),
                                   key=lambda kv: CASES.index(kv[0]) if kv[0] in CASES else 99):
        print(f"agreement_int8 lmnet {model} {size}x{size} "
              f"max_rel_err={r['lmnet_int8_max_rel_err']:.1e} "
              f"top1_same={r['lmnet_int8_top1_same']}")
    for (peer, model, size), r in sorted(int8_agreement.items(), key=report_order):
        print(f"agreement_int8 {peer} {model} {size}x{size} max_rel_err={r['max_rel_err']:.1e} "
              f"top1_same={r['top1_same']} max_rel_err_int8={r['max_rel_err_int8']:.1e}")
    for line in skipped_lines(peers, agreement, skipped, networks + networks_int8,
                              export_errors(directory), timing_errors):
        print(line)


if __name__ == '__main__':
    main()
