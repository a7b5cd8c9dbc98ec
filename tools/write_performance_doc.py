"""Puts the tables scripts/compare-peers produced into docs/performance.md.

  write_performance_doc.py <compare-peers output directory> <docs/performance.md>

Replaces the text between the '<!-- compare-peers:begin -->' and '<!-- compare-peers:end -->'
markers with the machine description, the tables and the final lines of the run.
"""

import os
import sys

BEGIN, END = '<!-- compare-peers:begin -->', '<!-- compare-peers:end -->'


def main():
    directory, doc = sys.argv[1], sys.argv[2]
    machine = open(os.path.join(directory, 'machine.txt')).read().strip()
    tables = open(os.path.join(directory, 'performance.md')).read().strip()
    report = open(os.path.join(directory, 'report.txt')).read().strip().splitlines()
    final = [line for line in report if line.startswith(('network ', 'peak_gflops='))]
    generated = '\n'.join([BEGIN, '', machine, '', '```', *final, '```', '', tables, '', END])
    text = open(doc).read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(doc, 'w') as f:
        f.write(head + generated + tail)


if __name__ == '__main__':
    main()
