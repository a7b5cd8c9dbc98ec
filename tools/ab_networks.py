#!/usr/bin/python3
"""Two builds of bench_simd, their whole networks timed in alternation: is the second slower?

    /usr/bin/python3 tools/ab_networks.py OLD/bench_simd NEW/bench_simd [--rounds 7]
        [--filter '^network/'] [--min-time 0.2]

Runs the two binaries' network benchmarks (batch 1, one and two threads) round after round, old
then new, so that a slow spell of a shared machine falls on both; prints per case the median over
rounds of each and the range of its rounds, and whether the new median is slower than the old by
more than the old's own spread over rounds:

    ab <case> old_ms=<median> (<min> to <max>) new_ms=<median> (<min> to <max>) new/old=<r> <verdict>
"""

import argparse
import json
import statistics
import subprocess


def run(binary, pattern, min_time):
    out = subprocess.run([binary, f'--benchmark_filter={pattern}',
                          f'--benchmark_min_time={min_time}', '--benchmark_format=json'],
                         check=True, capture_output=True, text=True).stdout
    unit = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}
    return {b['name'].replace('/real_time', ''): b['real_time'] * unit[b['time_unit']]
            for b in json.loads(out)['benchmarks']}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('old')
    parser.add_argument('new')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--filter', default='^network/')
    parser.add_argument('--min-time', type=float, default=0.2)
    args = parser.parse_args()
    old, new = {}, {}
    for r in range(args.rounds):
        for times, binary in ((old, args.old), (new, args.new)):
            for case, ms in run(binary, args.filter, args.min_time).items():
                times.setdefault(case, []).append(ms)
        print(f'round {r + 1} of {args.rounds} done', flush=True)
    for case in sorted(set(old) & set(new)):
        a, b = old[case], new[case]
        ma, mb = statistics.median(a), statistics.median(b)
        spread = max(a) - min(a)
        verdict = 'slower' if mb - ma > spread else 'within the old spread' if mb > ma else 'faster'
        print(f'ab {case} old_ms={ma:.3f} ({min(a):.3f} to {max(a):.3f}) new_ms={mb:.3f} '
              f'({min(b):.3f} to {max(b):.3f}) new/old={mb / ma:.3f} {verdict}')


if __name__ == '__main__':
    main()
