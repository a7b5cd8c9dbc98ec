#!/usr/bin/python3
"""Writes the results of ./scripts/cascade-experiment into docs/cascade.md (between the
`<!-- results:begin -->` and `<!-- results:end -->` markers) and plots accuracy against saving.

    /usr/bin/python3 tools/cascade/report.py WORK_DIR docs/cascade.md docs/cascade-results.png COMMAND

COMMAND is the command line that produced WORK_DIR, quoted in the document.
"""

import csv
import os
import re
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

DATASETS = {
    'test': 'test set (10,000)',
    'test_dup': 'duplicated (20,000)',
    'test_noisy_dup': 'duplicated, noisy copies',
    'test_shifted_dup': 'duplicated, shifted copies',
}


def read_results(work):
    with open(os.path.join(work, 'results.csv')) as f:
        return list(csv.DictReader(f))


def read_int8(work):
    path = os.path.join(work, 'int8.csv')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def paired_times(work):
    """The run's fp32 and int8 times of the pair's models measured in turn: (header, rows)."""
    run = os.path.join(work, 'run.txt')
    if not os.path.exists(run):
        return None, []
    lines = open(run).read().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith('fp32 and int8 in turn')), None)
    if start is None:
        return None, []
    rows = []
    for line in lines[start + 1:]:
        m = re.match(r'\s+(\S+)\s+fp32 (\S+) int8 (\S+) int8/fp32 (\S+)', line)
        if not m:
            break
        rows.append(m.groups())
    return lines[start], rows


def int8_section(work):
    rows = read_int8(work)
    if not rows:
        return []
    calibration = os.path.join(work, 'calibration.txt')
    images = re.search(r'calibrated on (\d+) training images', open(calibration).read()) \
        if os.path.exists(calibration) else None
    lines = ['', f'The pair in int8 (`backend::int8<backend::simd<>>`, configuration `{rows[0]["config"]}`): '
             f'each model calibrated on {images.group(1) if images else "its"} training images outside the '
             'validation split, the rule\'s lambda* calibrated again on the int8 models\' validation logits; '
             'against the same pair, rule and post-check in fp32. Time per image: the stream\'s own work and '
             'the models\' runs at their times below, measured in fp32 and int8 in turn (the streams\' '
             'replayed times come from passes made at other times, under other loads). Weights read: the '
             'bytes of packed weights each model run reads, per image:', '',
             '| dataset | accuracy int8 (fp32) | second model int8 (fp32) | ms / image int8 (fp32) | '
             'int8 saves (time) | weights read / image int8 (fp32) | int8 saves (weights) |',
             '|---|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(
            f'| {r["dataset"]} | {100 * float(r["accuracy"]):.2f}% ({100 * float(r["fp32_accuracy"]):.2f}%) | '
            f'{100 * float(r["second_rate"]):.1f}% ({100 * float(r["fp32_second_rate"]):.1f}%) | '
            f'{float(r["ms_per_image"]):.3f} ({float(r["fp32_ms_per_image"]):.3f}) | '
            f'{100 * float(r["saving_vs_fp32"]):.1f}% | '
            f'{float(r["weight_bytes_per_image"]) / 1e3:.0f} kB ({float(r["fp32_weight_bytes_per_image"]) / 1e3:.0f} kB) | '
            f'{100 * float(r["weight_bytes_saving"]):.1f}% |')
    header, times = paired_times(work)
    if times:
        lines += ['', f'The pair\'s models timed in fp32 and in int8 in turn ({header[len("fp32 and int8 in turn: "):]}):',
                  '', '| model | fp32 ms / image | int8 ms / image | int8 / fp32 |', '|---|---:|---:|---:|']
        for name, fp32, int8, ratio in times:
            lines.append(f'| {name} | {fp32} | {int8} | {ratio} |')
    return lines


def read_selection(work):
    selection = {'thresholds': []}
    with open(os.path.join(work, 'calibration', 'selection.txt')) as f:
        for line in f:
            words = line.split()
            if words[0] == 'threshold':
                selection['thresholds'].append(words[1:])
            else:
                selection[words[0]] = words[1:]
    return selection


def top_pairs(work, budget, count=6, keep=lambda r: True):
    """The best rule of each pair within the budget, best pairs first, as the calibration ranks them."""
    with open(os.path.join(work, 'calibration', 'pairs.csv')) as f:
        rows = [r for r in csv.DictReader(f) if float(r['expected_macs']) <= budget and keep(r)]
    best = {}
    for r in rows:
        key = (r['first'], r['second'])
        if key not in best or float(r['val_accuracy']) > float(best[key]['val_accuracy']):
            best[key] = r
    return sorted(best.values(), key=lambda r: (-float(r['val_accuracy']), float(r['expected_macs'])))[:count]


def plot(results, path):
    datasets = [d for d in DATASETS if any(r['dataset'] == d for r in results)]
    columns = 2 if len(datasets) > 1 else 1
    rows_of_plots = (len(datasets) + columns - 1) // columns
    fig, axes = plt.subplots(rows_of_plots, columns, figsize=(6.5 * columns, 4.8 * rows_of_plots), squeeze=False)
    axes = axes.flatten()
    for ax in axes[len(datasets):]:
        ax.axis('off')
    for ax, d in zip(axes, datasets):
        rows = [r for r in results if r['dataset'] == d]
        for r in rows:
            saving, accuracy = 100 * float(r['saving_vs_large']), 100 * float(r['accuracy'])
            colour = ('black' if r['config'] == 'large' else 'tab:green' if r.get('backend') == 'int8'
                      else 'tab:blue' if 'memory' in r['config'] else 'tab:orange')
            ax.scatter(saving, accuracy, color=colour, s=22)
            ax.annotate(r['config'], (saving, accuracy), fontsize=6, xytext=(3, 2), textcoords='offset points')
        large = next(r for r in rows if r['config'] == 'large')
        ax.axhline(100 * float(large['accuracy']) - 0.3, color='grey', lw=0.7, ls='--')
        ax.set_title(DATASETS[d], fontsize=9)
        ax.set_xlabel('time saved vs the large model (%)')
        ax.set_ylabel('accuracy (%)')
        ax.grid(alpha=0.3)
    fig.suptitle('Dual CNNs with memory on Fashion-MNIST (dashed: large model - 0.3 points)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def energy_note(work):
    run = os.path.join(work, 'run.txt')
    if os.path.exists(run) and 'RAPL package counter found' in open(run).read():
        return 'the RAPL counter\'s joules per image are in the run\'s output'
    return 'this machine has no energy counter, so time and MACs stand in for energy'


def table(results, work, command):
    backend = results[0]['backend']  # the int8 rows say so in their configuration's name
    selection = read_selection(work)
    lines = [
        f'Produced by `{command}` with lmnet\'s **{backend}** backend '
        f'(times are thread CPU milliseconds per image, batch 1; {energy_note(work)}).',
        '',
        f'Large model: **{selection["large"][0]}**. Pair chosen on the validation split: **{selection["first"][0]}** then '
        f'**{selection["second"][0]}**; memory configurations use its rule '
        f'**{selection["rule"][0]}**{" with post-check" if selection["rule"][1] == "1" else ""}; '
        f'best single small model: **{selection["small"][0]}**.',
        '',
        '| dataset | configuration | accuracy | MACs / image | ms / image | second model | cache hits | saving vs large |',
        '|---|---|---:|---:|---:|---:|---:|---:|',
    ]
    for r in results:
        lines.append(
            f'| {r["dataset"]} | {r["config"]} | {100 * float(r["accuracy"]):.2f}% | '
            f'{float(r["macs_per_image"]) / 1e6:.2f} M | {float(r["ms_per_image"]):.3f} | '
            f'{100 * float(r["second_rate"]):.1f}% | {100 * float(r["hit_rate"]):.1f}% | '
            f'{100 * float(r["saving_vs_large"]):.1f}% |')
    lines += ['', 'The memories, each in front of the pair with its rule: how often a hit answered otherwise than '
              'the cascade would have without the memory (wrong hits), and the memory\'s own time per image '
              '(keys, lookups, insertions; thread CPU, median of 5 passes) beside the first model\'s:', '',
              '| dataset | memory | accuracy | hits | wrong hits | wrong-hit rate | memory µs / image '
              '| of the first model\'s time | saving vs large |',
              '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    for r in results:
        if not r['config'].startswith('dual_memory_'):
            continue
        lines.append(
            f'| {r["dataset"]} | {r["config"][len("dual_memory_"):]} | {100 * float(r["accuracy"]):.2f}% | '
            f'{100 * float(r["hit_rate"]):.2f}% | {r["wrong_hits"]} | {float(r["wrong_hit_rate"]):.4f} | '
            f'{float(r["memory_us_per_image"]):.2f} | '
            f'{100 * float(r["memory_us_per_image"]) / float(r["first_model_us_per_image"]):.1f}% | '
            f'{100 * float(r["saving_vs_large"]):.1f}% |')
    lines += int8_section(work)
    lines += ['', 'lambda* of the chosen pair on the validation split (2000-point grid):', '',
              '| rule | post-check | lambda* | validation accuracy |', '|---|---|---:|---:|']
    for rule, post_check, threshold, accuracy in selection['thresholds']:
        lines.append(f'| {rule} | {"yes" if post_check == "1" else "no"} | {float(threshold):.4f} | '
                     f'{100 * float(accuracy):.2f}% |')
    budget = float(selection['budget_macs'][0]) if 'budget_macs' in selection else float('inf')
    large = selection['large'][0]
    for title, keep in [('Best pairs', lambda r: True),
                        ('Best pairs of two small models', lambda r: r['second'] != large)]:
        lines += ['', f'{title} on the validation split (each with its best rule within the budget of '
                  f'{budget / 1e6:.2f} M expected MACs):', '',
                  '| first | second | rule | post-check | lambda* | val. accuracy | second model | '
                  'expected MACs | complementarity (paper) |',
                  '|---|---|---|---|---:|---:|---:|---:|---:|']
        for r in top_pairs(work, budget, 6 if title == 'Best pairs' else 4, keep):
            lines.append(
                f'| {r["first"]} | {r["second"]} | {r["rule"]} | {"yes" if r["post_check"] == "1" else "no"} | '
                f'{float(r["threshold"]):.4f} | {100 * float(r["val_accuracy"]):.2f}% | '
                f'{100 * float(r["val_second_rate"]):.1f}% | {float(r["expected_macs"]) / 1e6:.2f} M | '
                f'{float(r["paper_complementarity"]):.4f} |')
    lines += ['', '![accuracy against saving](cascade-results.png)']
    calibration = os.path.join(work, 'calibration.txt')
    if os.path.exists(calibration):
        lines += ['', 'The calibration step\'s output (validation split):', '', '```',
                  open(calibration).read().rstrip('\n'), '```']
    return '\n'.join(lines)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    work, doc, image, command = sys.argv[1:]
    results = read_results(work)
    plot(results, image)
    text = open(doc).read()
    begin, end = '<!-- results:begin -->', '<!-- results:end -->'
    if begin not in text or end not in text:
        sys.exit(f'{doc}: no {begin} ... {end} section')
    text = re.sub(re.escape(begin) + '.*' + re.escape(end),
                  lambda _: begin + '\n' + table(results, work, command) + '\n' + end, text, flags=re.S)
    with open(doc, 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
