"""Converts a case's PyTorch mirror, with lmnet's weights, to a LiteRT (.tflite) model.

  build/peers-convert-venv/bin/python tools/peers/litert_convert.py \
      <case.safetensors> <out.tflite> [--identity]

--identity writes an empty model of the case's input shape instead (its output is its input).
Runs in build/peers-convert-venv, which has a current PyTorch and litert-torch.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import mirror  # noqa: E402


class Identity(torch.nn.Module):
    def forward(self, x):
        return x


def main():
    source, target = sys.argv[1], sys.argv[2]
    import litert_torch
    net, x, _, _ = mirror(source)
    if '--identity' in sys.argv[3:]:
        net = Identity()
    litert_torch.convert(net.eval(), (x,)).export(target)


if __name__ == '__main__':
    main()
