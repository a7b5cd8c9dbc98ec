"""LiteRT: the model converted by litert-torch, run by the LiteRT Interpreter with its default
XNNPACK delegate."""

import os

import numpy as np

from peers.common import Runner, Skip, converter_python, tool

NAME = 'litert'
SETTINGS = ('litert-torch converts the PyTorch mirror with lmnet\'s weights; LiteRT Interpreter '
            'with num_threads=n and its default delegate (XNNPACK, fp32); set_tensor, invoke, '
            'get_tensor')
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


def load(path, threads):
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]

    def feed(image):
        shape = list(source['shape'])
        if shape == list(image.shape):
            return np.ascontiguousarray(image)
        if shape == [image.shape[0], image.shape[2], image.shape[3], image.shape[1]]:
            return np.ascontiguousarray(image.transpose(0, 2, 3, 1))
        raise Skip(f'the model takes {shape}, the image is {list(image.shape)}')

    def run(fed):
        interpreter.set_tensor(source['index'], fed)
        interpreter.invoke()
        return interpreter.get_tensor(target['index'])

    return Runner(feed=feed, run=run)
