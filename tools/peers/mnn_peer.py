"""MNN: the model converted by MNNConvert, run through MNN's Module API."""

import os
import subprocess
import sys

import numpy as np

from peers.common import Runner, Skip, identity_onnx

NAME = 'mnn'
SETTINGS = ('MNNConvert converts the ONNX model; Module API (load_module_from_file) with a '
            'runtime manager for the CPU backend, numThread=n, default precision ("normal", fp32 '
            'on x86); forward() on an NCHW input, read()')


def version():
    import MNN
    return MNN.version()


def mnnconvert(onnx, target):
    if os.path.exists(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tool = os.path.join(os.path.dirname(sys.executable), 'mnnconvert')
    result = subprocess.run([tool, '-f', 'ONNX', '--modelFile', onnx, '--MNNModel', target,
                             '--bizCode', 'lmnet'], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not os.path.exists(target):
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise Skip(f'MNNConvert could not convert the ONNX model: {" ".join(tail)}')
    return target


def convert(case):
    return mnnconvert(case.onnx, os.path.join(case.workdir, case.name + '.mnn'))


def identity(case):
    return mnnconvert(identity_onnx(case), identity_onnx(case)[:-len('.onnx')] + '.mnn')


def load(path, threads):
    import MNN
    runtime = MNN.nn.create_runtime_manager(({'backend': 'CPU', 'numThread': threads},))
    module = MNN.nn.load_module_from_file(path, ['input'], ['output'], runtime_manager=runtime)

    def feed(image):
        return MNN.expr.const(image, list(image.shape), MNN.expr.NCHW)

    def run(fed):
        out = module.forward(fed)
        if out.data_format == MNN.expr.NC4HW4:
            out = MNN.expr.convert(out, MNN.expr.NCHW)
        return np.asarray(out.read())

    runner = Runner(feed=feed, run=run)
    runner.keep = (runtime, module)
    return runner
