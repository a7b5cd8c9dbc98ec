"""OpenVINO in int8: the ONNX QDQ model with lmnet's quant params and int8 weights
(tools/int8_onnx.py), which OpenVINO reads as an int8 model (its low-precision transformations)."""

from peers import openvino_peer
from peers.common import Runner, Skip, identity_onnx, qdq_onnx

NAME = 'openvino_int8'
INT8 = True
CONFIG = {'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': '1'}
SETTINGS = ('compile_model on the ONNX QDQ model of lmnet\'s int8 network (lmnet\'s quant params '
            'and int8 weights, tools/int8_onnx.py) for "CPU", its default inference precision, '
            'PERFORMANCE_HINT=LATENCY, NUM_STREAMS=1, INFERENCE_NUM_THREADS=n; checked to run its '
            'convolutions in u8/i8')
APP_SETTINGS = ('benchmark_app on the same model: -d CPU -hint none -nstreams 1 -nthreads n -api '
                'sync, its average latency')
version = openvino_peer.version


def convert(case):
    return qdq_onnx(case)


def identity(case):
    return identity_onnx(case)


def int8_convolutions(compiled):
    """(convolutions run in u8/i8, all convolutions) of a compiled model's execution graph."""
    int8 = total = 0
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        if 'layerType' not in info or info['layerType'].astype(str) != 'Convolution':
            continue
        total += 1
        if 'runtimePrecision' in info:
            int8 += info['runtimePrecision'].astype(str).lower() in ('u8', 'i8')
    return int8, total


def load(path, threads, check=True):
    """`check`: skip a model none of whose convolutions runs in int8 (not for the empty model,
    which has none)."""
    import openvino as ov
    compiled = ov.Core().compile_model(path, 'CPU',
                                       {**CONFIG, 'INFERENCE_NUM_THREADS': str(threads)})
    if check:
        int8, total = int8_convolutions(compiled)
        if int8 == 0:
            raise Skip(f'OpenVINO ran none of its {total} convolutions in int8')
    request = compiled.create_infer_request()

    def run(fed):
        request.infer(fed)
        return request.get_output_tensor(0).data

    return Runner(feed=lambda image: [image], run=run)


def load_identity(path, threads):
    return load(path, threads, check=False)


def benchmark_tool(path, case, threads, seconds, call_ms):
    return openvino_peer.benchmark_tool(path, case, threads, seconds, call_ms, precision=None)
