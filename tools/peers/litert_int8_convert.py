"""Quantizes a case's LiteRT model to full int8 with the AI Edge Quantizer (its static_wi8_ai8
recipe: int8 weights and activations), calibrated on the images lmnet's int8 case is calibrated
on.

  build/peers-convert-venv/bin/python tools/peers/litert_int8_convert.py \
      <fp32.tflite> <case.safetensors> <out.tflite>

Runs in build/peers-convert-venv, which has ai-edge-quantizer.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from lmnet_tools import safetensors  # noqa: E402


def main():
    source, case, target = sys.argv[1:4]
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe
    signatures = Interpreter(model_path=source).get_signature_list()
    key = next(iter(signatures))
    name = signatures[key]['inputs'][0]
    shape = list(Interpreter(model_path=source).get_input_details()[0]['shape'])
    tensors, _ = safetensors.load(case)
    images = np.asarray(tensors['calibration'], np.float32)  # NHWC
    _, h, w, c = images.shape
    if list(shape[1:]) == [c, h, w]:  # the model takes NCHW
        images = images.transpose(0, 3, 1, 2)
    q = quantizer.Quantizer(source)
    q.load_quantization_recipe(recipe.static_wi8_ai8())
    calibration = q.calibrate({key: [{name: image[None]} for image in images]})
    q.quantize(calibration).export_model(target, overwrite=True)


if __name__ == '__main__':
    main()
