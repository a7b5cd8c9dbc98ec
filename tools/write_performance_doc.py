"""Puts the tables scripts/compare-peers produced into docs/performance.md.

  write_performance_doc.py <compare-peers output directory> <docs/performance.md>

Replaces the text between the '<!-- compare-peers:begin -->' and '<!-- compare-peers:end -->'
markers with the machine description, the final lines of the run, the tables and the plot (a
section at the end when the markers are missing).
"""

import os
import sys

BEGIN, END = '<!-- compare-peers:begin -->', '<!-- compare-peers:end -->'


def main():
    directory, doc = sys.argv[1], sys.argv[2]
    machine = open(os.path.join(directory, 'machine.txt')).read().strip()
    tables = open(os.path.join(directory, 'performance.md')).read().strip()
    report = open(os.path.join(directory, 'report.txt')).read().strip().splitlines()
    final = [line for line in report if line.startswith(
        ('check ', 'peak_gflops=', 'overhead ', 'network ', 'network_int8 ', 'agreement ',
         'agreement_int8 ', 'skipped '))]
    plot = os.path.exists(os.path.join(directory, 'performance.png'))
    generated = '\n'.join([BEGIN, '', machine, '', '```', *final, '```', '', tables, ''] +
                          (['![lmnet against its peers](performance.png)', ''] if plot else []) +
                          [END])
    text = open(doc).read() if os.path.exists(doc) else '# Performance\n'
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
    else:  # no figures section yet: one at the end
        head, tail = text.rstrip('\n') + '\n\n', '\n'
    with open(doc, 'w') as f:
        f.write(head + generated + tail)


if __name__ == '__main__':
    main()
