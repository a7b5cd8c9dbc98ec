"""LiteRT in int8: the case's LiteRT model quantized to int8 weights and activations by the AI
Edge Quantizer (static_wi8_ai8), calibrated on lmnet's calibration images, run by the LiteRT
Interpreter with its default XNNPACK delegate (XNNPACK's QS8 kernels)."""

import os

import numpy as np

from peers import litert_peer
from peers.common import Runner, Skip, converter_python, tool

NAME = 'litert_int8'
INT8 = True
SETTINGS = ('the litert model quantized by the AI Edge Quantizer (recipe static_wi8_ai8: int8 '
            'weights per channel and int8 activations, calibrated on the 4 images lmnet\'s int8 '
            'case is calibrated on); LiteRT Interpreter with num_threads=n and its default '
            'delegate (XNNPACK, QS8); otherwise as litert')
APP_SETTINGS = 'litert-benchmark on the same model, as litert_app'
CONVERT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'litert_int8_convert.py')
version = litert_peer.version
identity = litert_peer.identity
benchmark_tool = litert_peer.benchmark_tool


def convert(case):
    target = os.path.join(case.workdir, case.name + '.int8.tflite')
    if not os.path.exists(target):
        source = litert_peer.convert(case)
        tool([converter_python(), CONVERT, source, case.source, target], 'AI Edge Quantizer')
    return target


def load(path, threads):
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    if source['dtype'] != np.float32 or target['dtype'] != np.float32:
        raise Skip(f'the model takes {source["dtype"]} and gives {target["dtype"]}, not float32')
    feed = litert_peer.feeder(source)

    def run(fed):
        interpreter.set_tensor(source['index'], fed)
        interpreter.invoke()
        return interpreter.get_tensor(target['index'])

    return Runner(feed=feed, run=run)
