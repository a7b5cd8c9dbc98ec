"""LiteRT: the model converted by litert-torch, run by the LiteRT Interpreter with its default
XNNPACK delegate."""

import json
import os
import sys
import tempfile

import numpy as np

from peers.common import Runner, Skip, converter_python, tool

NAME = 'litert'
SETTINGS = ('litert-torch converts the PyTorch mirror with lmnet\'s weights; LiteRT Interpreter '
            'with num_threads=n and its default delegate (XNNPACK, fp32); set_tensor, invoke, '
            'get_tensor')
APP_SETTINGS = ('litert-benchmark, the benchmark tool of the ai-edge-litert package, on the same '
                'model: its CompiledModel API, CPU accelerator, --num_threads=n, its average '
                'latency')
CONVERT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'litert_convert.py')


def version():
    import ai_edge_litert
    return getattr(ai_edge_litert, '__version__', None) or _distribution_version()


def _distribution_version():
    import importlib.metadata
    return importlib.metadata.version('ai-edge-litert')


def _convert(case, target, *extra):
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tool([converter_python(), CONVERT, case.source, target, *extra], 'litert-torch')
    return target


def convert(case):
    return _convert(case, os.path.join(case.workdir, case.name + '.tflite'))


def identity(case):
    shape = 'x'.join(map(str, case.input_shape))
    return _convert(case, os.path.join(case.shared, f'{shape}.tflite'), '--identity')


def feeder(source):
    """feed(image) for an interpreter's input `source`: the NCHW image in the model's layout."""
    def feed(image):
        shape = list(source['shape'])
        if shape == list(image.shape):
            return np.ascontiguousarray(image)
        if shape == [image.shape[0], image.shape[2], image.shape[3], image.shape[1]]:
            return np.ascontiguousarray(image.transpose(0, 2, 3, 1))
        raise Skip(f'the model takes {shape}, the image is {list(image.shape)}')
    return feed


def load(path, threads):
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    feed = feeder(source)

    def run(fed):
        interpreter.set_tensor(source['index'], fed)
        interpreter.invoke()
        return interpreter.get_tensor(target['index'])

    return Runner(feed=feed, run=run)


def benchmark_tool(path, case, threads, seconds, call_ms):
    """The average latency litert-benchmark reports, in ms, over about `seconds` of calls."""
    runs = max(10, int(seconds * 1e3 / max(call_ms or 1.0, 1e-3)))
    with tempfile.TemporaryDirectory() as directory:
        result = os.path.join(directory, 'result.json')
        tool([os.path.join(os.path.dirname(sys.executable), 'litert-benchmark'), f'--model={path}',
              f'--num_threads={threads}', f'--num_runs={runs}', '--warmup_runs=10',
              f'--result_json={result}'], 'litert-benchmark')
        with open(result) as f:
            r = json.load(f)
    # avg_ms is rounded to 0.01 ms; the throughput, the input's MiB over the average time, keeps
    # four digits at any latency.
    mib = float(np.prod(case.input_shape)) * 4 / 2**20
    if r.get('throughput_mb_s', 0) > 0:
        return mib / r['throughput_mb_s'] * 1e3
    return r['latency']['avg_ms']
