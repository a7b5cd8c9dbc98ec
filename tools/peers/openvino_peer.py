"""OpenVINO: a model compiled for the CPU plugin, in fp32, and its own benchmark_app."""

import os
import re
import subprocess
import sys

from peers.common import Runner, Skip, identity_onnx

NAME = 'openvino'
# OpenVINO runs in bf16 by default on CPUs with bf16 instructions (AMX, AVX512_BF16): forced f32.
CONFIG = {'INFERENCE_PRECISION_HINT': 'f32', 'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': '1'}
SETTINGS = ('compile_model on the ONNX model for "CPU" with INFERENCE_PRECISION_HINT=f32 (bf16 by '
            'default on CPUs with bf16 instructions), PERFORMANCE_HINT=LATENCY, NUM_STREAMS=1, '
            'INFERENCE_NUM_THREADS=n; one InferRequest, infer() then the output tensor')
APP_SETTINGS = ('benchmark_app, OpenVINO\'s benchmark tool, on the same model: -d CPU -hint none '
                '-nstreams 1 -nthreads n -infer_precision f32 -api sync, its average latency')


def version():
    import openvino
    return openvino.get_version().split('-')[0]


def convert(case):
    return case.onnx


def identity(case):
    return identity_onnx(case)


def load(path, threads):
    import openvino as ov
    compiled = ov.Core().compile_model(path, 'CPU',
                                       {**CONFIG, 'INFERENCE_NUM_THREADS': str(threads)})
    precision = str(compiled.get_property('INFERENCE_PRECISION_HINT'))
    if 'f32' not in precision and 'float32' not in precision:
        raise Skip(f'compiled for {precision}, not f32')
    request = compiled.create_infer_request()

    def run(fed):
        request.infer(fed)
        return request.get_output_tensor(0).data

    return Runner(feed=lambda image: [image], run=run)


def benchmark_tool(path, case, threads, seconds, call_ms, precision='f32'):
    """The average latency benchmark_app reports, in ms: the mean call, as Google Benchmark and
    common.median_ms time the others (its median would leave out the calls a busy machine
    slowed, which theirs do not). `precision`: its -infer_precision (None: its default)."""
    tool = os.path.join(os.path.dirname(sys.executable), 'benchmark_app')
    # benchmark_app takes -nstreams and -nthreads only with -hint none.
    command = [tool, '-m', path, '-d', 'CPU', '-hint', 'none', '-nstreams', '1', '-nthreads',
               str(threads), '-api', 'sync', '-t', str(max(1, round(seconds)))]
    if precision:
        command += ['-infer_precision', precision]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    match = re.search(r'Average:\s+([0-9.]+)\s+(ms|us)', result.stdout)
    if result.returncode != 0 or not match:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise Skip(f'benchmark_app failed: {" ".join(tail)}')
    return float(match.group(1)) * (1e-3 if match.group(2) == 'us' else 1.0)
