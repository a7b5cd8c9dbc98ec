"""LiteRT in int8: the case's LiteRT model quantized to int8 weights and activations by the AI
Edge Quantizer (static_wi8_ai8), calibrated on lmnet's calibration images, run by the LiteRT
Interpreter with its default XNNPACK delegate (XNNPACK's QS8 kernels), int8 in and out."""

import os

import numpy as np

from peers import litert_peer
from peers.common import Runner, Skip, converter_python, tool

NAME = 'litert_int8'
INT8 = True
SETTINGS = ('the litert model quantized by the AI Edge Quantizer (recipe static_wi8_ai8: int8 '
            'weights per channel and int8 activations, calibrated on the 4 images lmnet\'s int8 '
            'case is calibrated on); LiteRT Interpreter with num_threads=n and its default '
            'delegate (XNNPACK, QS8); the image quantized to the model\'s int8 input when fed, the '
            'int8 output dequantized after each call; otherwise as litert')
APP_SETTINGS = 'litert-benchmark on the same model, as litert_app'
CONVERT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'litert_int8_convert.py')
version = litert_peer.version
# The empty model has nothing to quantize: the per-call cost is the fp32 one's (litert).
identity = litert_peer.identity
load_identity = litert_peer.load
benchmark_tool = litert_peer.benchmark_tool


def convert(case):
    target = os.path.join(case.workdir, case.name + '.int8.tflite')
    if not os.path.exists(target):
        source = litert_peer.convert(case)
        tool([converter_python(), CONVERT, source, case.source, target], 'AI Edge Quantizer')
    return target


def load(path, threads):
    """The int8 model as its users run it: a float image quantized to the input's int8 params
    when it is fed (outside the timed call), the int8 output dequantized after each call."""
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    layout = litert_peer.feeder(source)
    in_scale, in_zero = source['quantization']
    out_scale, out_zero = target['quantization']
    if source['dtype'] != np.int8 or target['dtype'] != np.int8 or not in_scale or not out_scale:
        raise Skip(f'the quantized model takes {source["dtype"].__name__} and gives '
                   f'{target["dtype"].__name__}, not int8 with quant params')

    def feed(image):
        return np.clip(np.rint(layout(image) / in_scale) + in_zero, -128, 127).astype(np.int8)

    def run(fed):
        interpreter.set_tensor(source['index'], fed)
        interpreter.invoke()
        out = interpreter.get_tensor(target['index'])
        return (out.astype(np.float32) - out_zero) * np.float32(out_scale)

    return Runner(feed=feed, run=run)
