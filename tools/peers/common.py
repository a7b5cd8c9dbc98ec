"""What the Python peers share: the cases, the empty model, timing and agreement."""

import dataclasses
import glob
import hashlib
import subprocess
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from lmnet_tools import safetensors  # noqa: E402


class Skip(Exception):
    """A peer cannot run a case; the message says why, for the report."""


def converter_python():
    """The Python of build/peers-convert-venv (PyTorch and litert-torch)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
    path = os.environ.get('LMNET_PEERS_CONVERT_PYTHON',
                          os.path.join(root, 'build', 'peers-convert-venv', 'bin', 'python'))
    if not os.path.exists(path):
        raise Skip('no converter environment (build/peers-convert-venv: see its install log in '
                   'build/bench/compare-peers/pip-convert.log)')
    return path


def tool(command, what, **kwargs):
    """Runs a converter; raises Skip with the last line it printed when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    if result.returncode != 0:
        lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise Skip(f'{what} failed: {lines[-1][:240] if lines else result.returncode}')
    return result


@dataclasses.dataclass
class Case:
    name: str          # <model>_<size>, the files' stem
    model: str
    size: int
    source: str        # the weights, image and lmnet's output (lmnet_peer_reference)
    onnx: str          # the model every peer converts from (tools/peers/export.py)
    image: np.ndarray  # NCHW float32, the image lmnet and every peer run
    output: np.ndarray  # lmnet's output on it
    workdir: str       # where a peer writes its converted files (named by the weights' digest,
                       # so that conversions are reused until the network or its weights change)
    shared: str        # where a peer writes the empty models (named by their shape)
    int8_network: str  # the network in int8 with lmnet's params (tools/int8_export.hpp)
    output_int8: np.ndarray  # lmnet int8's output on the image
    calibration: np.ndarray  # NCHW float32: the images lmnet's int8 case is calibrated on

    @property
    def input_shape(self):
        return list(self.image.shape)


@dataclasses.dataclass
class Runner:
    feed: callable
    run: callable


def selected(name):
    """Whether the run takes the case `name` (<model>_<size>): every case, or those named in
    LMNET_PEER_CASES (comma-separated; scripts/compare-peers --cases)."""
    chosen = os.environ.get('LMNET_PEER_CASES', '')
    return not chosen or name in chosen.split(',')


def cases(directory):
    """Every case lmnet_peer_reference wrote and export.py exported (those selected), in the
    report's order."""
    found = []
    directory = os.path.abspath(directory)
    for path in glob.glob(os.path.join(directory, '*.safetensors')):
        name = os.path.basename(path)[:-len('.safetensors')]
        onnx = os.path.join(directory, name + '.onnx')
        if not selected(name) or not os.path.exists(onnx):
            continue
        tensors, meta = safetensors.load(path)
        image = np.ascontiguousarray(tensors['input'].transpose(0, 3, 1, 2), dtype=np.float32)
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        found.append(Case(name, meta['model'], int(meta['size']), path, onnx, image,
                          np.array(tensors['output']),
                          os.path.join(directory, 'peers', f'{name}-{digest}'),
                          os.path.join(directory, 'peers', 'identity'),
                          os.path.join(directory, name + '.int8.json'),
                          np.array(tensors['output_int8']),
                          np.ascontiguousarray(tensors['calibration'].transpose(0, 3, 1, 2),
                                               dtype=np.float32)))
    return sorted(found, key=lambda c: (c.model, -c.size))


def identity_onnx(case):
    """An ONNX model whose output is its input, of the case's input shape."""
    import onnx
    from onnx import TensorProto, helper
    path = os.path.join(case.shared, 'x'.join(map(str, case.input_shape)) + '.onnx')
    if not os.path.exists(path):
        os.makedirs(case.shared, exist_ok=True)
        x = helper.make_tensor_value_info('input', TensorProto.FLOAT, case.input_shape)
        y = helper.make_tensor_value_info('output', TensorProto.FLOAT, case.input_shape)
        graph = helper.make_graph([helper.make_node('Identity', ['input'], ['output'])],
                                  'identity', [x], [y])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
        model.ir_version = 8
        onnx.save(model, path)
    return path


def qdq_onnx(case):
    """The case's int8 network with lmnet's quant params and int8 weights as an ONNX QDQ model
    (tools/int8_onnx.py; its residual terms placed on the calibration images)."""
    import onnx
    import int8_numpy
    import int8_onnx
    path = os.path.join(case.workdir, case.name + '.qdq.onnx')
    if not os.path.exists(path):
        os.makedirs(case.workdir, exist_ok=True)
        network = int8_onnx.load(case.int8_network)
        terms = int8_numpy.residual_terms(network, case.calibration.transpose(0, 2, 3, 1))
        onnx.save(int8_onnx.build(network, terms=terms), path)
    return path


def max_rel_err(out, reference):
    """The largest difference from lmnet's output relative to its largest magnitude (as
    bench/network_cases.hpp computes it for the native peers)."""
    out = np.asarray(out, np.float64).ravel()
    reference = np.asarray(reference, np.float64).ravel()
    if out.shape != reference.shape:
        raise Skip(f'the output has {out.size} values, lmnet\'s {reference.size}')
    return float(np.max(np.abs(out - reference)) / max(np.max(np.abs(reference)), 1e-30))


def median_ms(runner, image, seconds, repetitions, min_calls, warmup=10):
    """Times calls in a tight loop as Google Benchmark times lmnet and the native peers: after
    `warmup` calls, `repetitions` batches of `seconds / repetitions` seconds (and at least
    `min_calls / repetitions` calls) each, a batch's time its mean call; returns the median batch
    in ms and the number of calls."""
    fed = runner.feed(image)
    run = runner.run
    for _ in range(warmup):
        run(fed)
    clock = time.perf_counter
    per_batch = max(1, min_calls // repetitions)
    means, calls = [], 0
    for _ in range(repetitions):
        n = 0
        start = clock()
        while n < per_batch or clock() - start < seconds / repetitions:
            run(fed)
            n += 1
        means.append((clock() - start) / n)
        calls += n
    return statistics.median(means) * 1e3, calls
