"""The peers scripts/compare-peers runs beside lmnet, one module each, all with one interface:

  NAME        the peer's name in the report
  SETTINGS    how it is run, in words (the report's table of peers)
  version()   the installed version
  convert(case) -> path        the case's model in the peer's format, converted from the case's
                               ONNX file (raises Skip with the reason when it cannot)
  identity(case) -> path       an empty model (output = input) of the case's input shape: its
                               per-call time is the overhead of the peer's API
  load(path, threads) -> Runner  the model ready to run on `threads` threads
  benchmark_tool(path, case, threads, seconds) -> ms   optional: the peer's own benchmark tool

A Runner's feed(image) turns an NCHW float32 image into what its run takes, outside the timed
loop; run(fed) is one inference as the peer's users call it (set the input, run, read the
output) and returns the output as a numpy array.
"""

import importlib

# Every peer, in the order of the report, with the virtual environment it runs in: 'runtime'
# (build/peers-venv: the inference runtimes) or 'convert' (build/peers-convert-venv: PyTorch and
# the converters to LiteRT, whose pins would hold the runtimes back).
# The int8 peers (INT8 in their module; named <runtime>_int8) run each runtime in its own int8 and
# are reported beside lmnet int8.
ENVIRONMENTS = {'onnxruntime': 'runtime', 'openvino': 'runtime', 'ncnn': 'runtime',
                'mnn': 'runtime', 'litert': 'runtime', 'pytorch': 'convert',
                'onnxruntime_int8': 'runtime', 'openvino_int8': 'runtime', 'litert_int8': 'runtime'}
NAMES = list(ENVIRONMENTS)


def module(name):
    return importlib.import_module(f'peers.{name}_peer')
