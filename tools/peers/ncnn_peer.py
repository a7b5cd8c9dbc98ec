"""ncnn: the model converted by pnnx (fp32 weights), run by an ncnn Net."""

import importlib.util
import os
import subprocess

import numpy as np

from peers.common import Runner, Skip

NAME = 'ncnn'
SETTINGS = ('pnnx converts the ONNX model (fp16=0: fp32 weights); ncnn Net with its default '
            'options but fp16/bf16 storage and arithmetic off (on by default where the CPU has '
            'them), num_threads=n; an Extractor per call, input, extract')


def version():
    import ncnn
    return ncnn.__version__


def pnnx_tool():
    """The pnnx executable of the pnnx package (its Python module needs PyTorch; the tool not)."""
    spec = importlib.util.find_spec('pnnx')
    if spec is None:
        raise Skip('pnnx is not installed')
    return os.path.join(spec.submodule_search_locations[0], 'pnnx')


def convert(case):
    out = case.workdir
    os.makedirs(out, exist_ok=True)
    onnx = os.path.join(out, case.name + '.onnx')
    param = os.path.join(out, case.name + '.ncnn.param')
    if not os.path.exists(param):
        if not os.path.exists(onnx):
            os.symlink(os.path.abspath(case.onnx), onnx)
        shape = ','.join(map(str, case.input_shape))
        result = subprocess.run([pnnx_tool(), os.path.basename(onnx), f'inputshape=[{shape}]',
                                 'fp16=0'], cwd=out, capture_output=True, text=True, timeout=600)
        if result.returncode != 0 or not os.path.exists(param):
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise Skip(f'pnnx could not convert the ONNX model: {" ".join(tail)}')
    return param


def identity(case):
    """An Input and a Noop layer."""
    c, h, w = case.input_shape[1:]
    param = os.path.join(case.shared, f'{c}x{h}x{w}.ncnn.param')
    os.makedirs(os.path.dirname(param), exist_ok=True)
    with open(param, 'w') as f:
        f.write(f'7767517\n2 2\nInput in0 0 1 in0 0={w} 1={h} 2={c}\nNoop noop 1 1 in0 out0\n')
    open(param[:-len('.param')] + '.bin', 'wb').close()
    return param


def load(path, threads):
    import ncnn
    net = ncnn.Net()
    net.opt.num_threads = threads
    net.opt.use_vulkan_compute = False
    for option in ('use_fp16_packed', 'use_fp16_storage', 'use_fp16_arithmetic',
                   'use_bf16_storage', 'use_bf16_packed'):
        if hasattr(net.opt, option):
            setattr(net.opt, option, False)
    if net.load_param(path) != 0 or net.load_model(path[:-len('.param')] + '.bin') != 0:
        raise Skip(f'ncnn could not load {os.path.basename(path)}')

    def run(fed):
        extractor = net.create_extractor()
        extractor.input('in0', fed)
        _, out = extractor.extract('out0')
        return np.array(out)

    def feed(image):
        # A Mat made from an array views its memory: clone() gives it memory of its own.
        return ncnn.Mat(np.ascontiguousarray(image[0])).clone()

    runner = Runner(feed=feed, run=run)
    runner.net = net  # the Net must outlive its Extractors
    return runner
