"""Exports each network case to ONNX from the PyTorch mirror of lmnet's preset, on lmnet's weights.

  /usr/bin/python3 tools/peers/export.py <dir>

Reads <dir>/<model>_<size>.safetensors (written by lmnet_peer_reference: the weights lmnet runs,
under their PyTorch names, the input image and lmnet's output on it), loads the weights into the
mirror (tools/lmnet_tools/models.py), checks that the mirror computes lmnet's output, and writes
<dir>/<model>_<size>.onnx, the model every Python peer converts from. Prints one JSON line per
case: the mirror's agreement with lmnet, or why the case could not be exported, and lmnet int8's
agreement with lmnet fp32 (output_int8 against output). Runs under
Debian's Python, which has PyTorch; the peers themselves run in build/peers-venv.
"""

import glob
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from lmnet_tools import models, safetensors  # noqa: E402
from peers.common import selected  # noqa: E402

# model -> constructor of the PyTorch mirror: the cases of scripts/compare-peers.
MIRRORS = {
    'mobilenet_v2': lambda: models.mobilenet_v2(),
    'mobilenet_v2_cifar': models.FASHION_MNIST['mobilenet_v2_cifar'],
    'shufflenet_v2_cifar': models.FASHION_MNIST['shufflenet_v2_cifar'],
    'l_mobilenet': models.FASHION_MNIST['l_mobilenet'],
}
OPSET = 13
# The tensors of a case file beside the weights (bench/peer_reference.cpp).
NOT_WEIGHTS = ('input', 'output', 'output_int8', 'calibration')


def max_rel_err(out, reference):
    """The largest difference from lmnet's output relative to its largest magnitude (as the C++
    side computes it, bench/network_cases.hpp)."""
    out, reference = np.asarray(out, np.float64).ravel(), np.asarray(reference, np.float64).ravel()
    if out.shape != reference.shape:
        return float('inf')
    return float(np.max(np.abs(out - reference)) / max(np.max(np.abs(reference)), 1e-30))


def mirror(path):
    """The mirror with the case's weights, the input (NCHW) and lmnet's output."""
    tensors, meta = safetensors.load(path)
    net = MIRRORS[meta['model']]().eval()
    state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k not in NOT_WEIGHTS}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise ValueError(f'weights do not match the mirror: missing {missing[:3]}, '
                         f'unexpected {unexpected[:3]}')
    x = torch.from_numpy(np.array(tensors['input'].transpose(0, 3, 1, 2)))
    return net, x, tensors['output'], meta


def main():
    directory = sys.argv[1]
    torch.set_num_threads(1)
    for path in sorted(glob.glob(os.path.join(directory, '*.safetensors'))):
        case = os.path.basename(path)[:-len('.safetensors')]
        if not selected(case):
            continue
        model, size = case.rsplit('_', 1)
        result = {'case': case, 'model': model, 'size': int(size)}
        tensors, _ = safetensors.load(path)
        if 'output_int8' in tensors:  # lmnet int8 against lmnet fp32, beside the int8 peers
            result['lmnet_int8_max_rel_err'] = max_rel_err(tensors['output_int8'],
                                                           tensors['output'])
            result['lmnet_int8_top1_same'] = int(np.argmax(tensors['output_int8']) ==
                                                 np.argmax(tensors['output']))
        try:
            net, x, reference, _ = mirror(path)
            with torch.no_grad():
                result['max_rel_err'] = max_rel_err(net(x).numpy(), reference)
                torch.onnx.export(net, x, os.path.join(directory, case + '.onnx'),
                                  opset_version=OPSET, input_names=['input'],
                                  output_names=['output'], do_constant_folding=True)
            result['torch'] = torch.__version__
        except Exception as e:  # reported per case: the other cases go on
            result['error'] = f'{type(e).__name__}: {e}'
        print(json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
