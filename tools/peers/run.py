"""Prepares and times the Python peers of scripts/compare-peers (tools/peers/*_peer.py).

  run.py list <environment>
      the peers that run in that virtual environment ('runtime' or 'convert')
  run.py prepare <dir> <peer>...
      converts every case of <dir> (tools/peers/export.py) for each peer, runs it once on the
      case's image and compares the output with lmnet's; prints one JSON line per peer (version,
      settings), then one per peer and case, with max_rel_err, or with `skipped` and the reason
      (not installed, conversion failed, disagrees with lmnet). A peer is timed only on the cases
      it prepared.
  run.py time <dir> <peer> --threads N --seconds S --repetitions R --min-calls K
      one round: each prepared case, then the peer's empty model of the same input shape, in a
      tight loop (common.median_ms); one JSON line per case with ms and overhead_ms, and one
      with the time of the peer's own benchmark tool where it has one.

The agreement threshold: a peer whose largest difference from lmnet's output exceeds 1e-4 of
the output's scale is not computing the same fp32 network and is not timed. An int8 peer (INT8 in
its module) cannot compute lmnet's int8 codes bit for bit: its output is compared with lmnet's
fp32 output (max_rel_err, and top1_same: the same top class) and with lmnet int8's
(max_rel_err_int8); one further than INT8_TOLERANCE from both is not computing the network and
is not timed.
"""

import argparse
import json
import os
import sys
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import peers  # noqa: E402
from peers.common import Skip, cases, max_rel_err, median_ms  # noqa: E402

TOLERANCE = 1e-4
INT8_TOLERANCE = 0.5


def reason(e):
    """A one-line reason for the report."""
    if isinstance(e, Skip):
        return str(e)
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0] if text else ""}'[:300]


def emit(record):
    print(json.dumps(record), flush=True)


def prepare(directory, names):
    all_cases = cases(directory)
    for name in names:
        try:
            module = peers.module(name)
            version = module.version()
        except Exception as e:  # not installed, or its import fails: every case skipped
            for case in all_cases:
                emit({'peer': name, 'model': case.model, 'size': case.size,
                      'skipped': f'not installed ({reason(e)})'})
            continue
        emit({'peer': name, 'version': version, 'settings': module.SETTINGS})
        if hasattr(module, 'benchmark_tool'):
            emit({'peer': name + '_app', 'version': version, 'settings': module.APP_SETTINGS,
                  'tool_of': name})
        for case in all_cases:
            record = {'peer': name, 'model': case.model, 'size': case.size, 'case': case.name}
            try:
                path = module.convert(case)
                outputs = []
                for threads in (1, 2):
                    runner = module.load(path, threads)
                    # A copy: a runtime's output may be a view of its own buffers (MNN's is),
                    # gone once the next runner replaces this one.
                    outputs.append(np.array(runner.run(runner.feed(case.image)), copy=True))
                record['max_rel_err'] = max(max_rel_err(out, case.output) for out in outputs)
                record['path'] = path
                if getattr(module, 'INT8', False):
                    record.update(int8_agreement(outputs, case))
                elif not record['max_rel_err'] <= TOLERANCE:
                    record['skipped'] = (f'its output differs from lmnet\'s (max_rel_err='
                                         f'{record["max_rel_err"]:.1e} > {TOLERANCE:g}): not the '
                                         'same fp32 network')
            except Exception as e:
                record['skipped'] = reason(e)
                if not isinstance(e, Skip):
                    traceback.print_exc(file=sys.stderr)
            if 'skipped' not in record:
                try:
                    identity = module.identity(case)
                    runner = load_identity(module)(identity, 1)
                    runner.run(runner.feed(case.image))
                    record['identity'] = identity
                except Exception as e:
                    record['identity_skipped'] = reason(e)
            emit(record)


def load_identity(module):
    """How the peer loads its empty model (load_identity where an int8 peer's load would refuse
    the empty model, which has no int8 convolution)."""
    return getattr(module, 'load_identity', module.load)


def int8_agreement(outputs, case):
    """An int8 peer's outputs (one per thread count) against lmnet's fp32 and int8 outputs."""
    record = {
        'max_rel_err_int8': max(max_rel_err(out, case.output_int8) for out in outputs),
        'top1_same': int(all(np.argmax(out) == np.argmax(case.output) for out in outputs)),
    }
    worst = min(max(max_rel_err(out, case.output) for out in outputs), record['max_rel_err_int8'])
    if not worst <= INT8_TOLERANCE:
        record['skipped'] = (f'its int8 output is not the network\'s (max_rel_err {worst:.2f} > '
                             f'{INT8_TOLERANCE:g} from both lmnet\'s fp32 and int8 outputs)')
    return record


def prepared(directory, name):
    path = os.path.join(directory, 'prepared.jsonl')
    with open(path) as f:
        for line in f:
            if not line.startswith('{'):  # a runtime's own messages
                continue
            r = json.loads(line)
            if r['peer'] == name and 'case' in r and 'skipped' not in r:
                yield r


def time_round(directory, name, threads, seconds, repetitions, min_calls):
    module = peers.module(name)
    by_name = {c.name: c for c in cases(directory)}
    for r in prepared(directory, name):
        case = by_name[r['case']]
        record = {'peer': name, 'model': case.model, 'size': case.size, 'threads': threads}
        try:
            record['ms'], record['calls'] = median_ms(module.load(r['path'], threads),
                                                      case.image, seconds, repetitions, min_calls)
            if 'identity' in r:
                empty = load_identity(module)(r['identity'], threads)
                record['overhead_ms'], _ = median_ms(empty, case.image, seconds / 4, repetitions,
                                                     min_calls)
        except Exception as e:
            record['error'] = reason(e)
        emit(record)
        if hasattr(module, 'benchmark_tool'):
            tool = {'peer': name + '_app', 'model': case.model, 'size': case.size,
                    'threads': threads}
            try:
                tool['ms'] = module.benchmark_tool(r['path'], case, threads, seconds,
                                                   record.get('ms'))
            except Exception as e:
                tool['error'] = reason(e)
            emit(tool)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    listing = sub.add_parser('list')
    listing.add_argument('environment', choices=['runtime', 'convert'])
    p = sub.add_parser('prepare')
    p.add_argument('directory')
    p.add_argument('peers', nargs='+', choices=peers.NAMES)
    t = sub.add_parser('time')
    t.add_argument('directory')
    t.add_argument('peer', choices=peers.NAMES)
    t.add_argument('--threads', type=int, default=1)
    t.add_argument('--seconds', type=float, default=1.0, help='per case, all repetitions')
    t.add_argument('--repetitions', type=int, default=5)
    t.add_argument('--min-calls', type=int, default=10)
    args = parser.parse_args()
    if args.command == 'list':
        print(' '.join(n for n, env in peers.ENVIRONMENTS.items() if env == args.environment))
    elif args.command == 'prepare':
        prepare(args.directory, args.peers)
    else:
        time_round(args.directory, args.peer, args.threads, args.seconds, args.repetitions,
                   args.min_calls)


if __name__ == '__main__':
    main()
