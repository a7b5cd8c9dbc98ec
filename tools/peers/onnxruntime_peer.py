"""ONNX Runtime: an InferenceSession on the exported ONNX model, as its users run it."""

from peers.common import Runner, identity_onnx

NAME = 'onnxruntime'
SETTINGS = ('InferenceSession on the ONNX model, CPU execution provider, all graph optimizations '
            '(ORT_ENABLE_ALL), intra_op_num_threads=n, inter_op_num_threads=1, sequential '
            'execution; run() with a numpy input')


def version():
    import onnxruntime
    return onnxruntime.__version__


def convert(case):
    return case.onnx


def identity(case):
    return identity_onnx(case)


def load(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return Runner(feed=lambda image: {name: image}, run=lambda fed: session.run(None, fed)[0])
