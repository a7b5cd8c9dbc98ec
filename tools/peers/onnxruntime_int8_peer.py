"""ONNX Runtime in int8: the ONNX QDQ model with lmnet's quant params and int8 weights
(tools/int8_onnx.py), which ONNX Runtime's QDQ transformer fuses into its int8 kernels."""

import collections
import os
import tempfile

from peers import onnxruntime_peer
from peers.common import Skip, identity_onnx, qdq_onnx

NAME = 'onnxruntime_int8'
INT8 = True
SETTINGS = ('the ONNX QDQ model of lmnet\'s int8 network (lmnet\'s quant params and int8 weights, '
            'tools/int8_onnx.py), fused by ONNX Runtime into QLinearConv, QLinearAdd, ...; '
            'otherwise as onnxruntime')
version = onnxruntime_peer.version
load = onnxruntime_peer.load


def int8_ops(path):
    """The op types of the graph ONNX Runtime runs for the model, after its optimizations."""
    import onnx
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory() as directory:
        options.optimized_model_filepath = os.path.join(directory, 'optimized.onnx')
        ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        return collections.Counter(n.op_type for n in onnx.load(
            options.optimized_model_filepath).graph.node)


def convert(case):
    path = qdq_onnx(case)
    ops = int8_ops(path)
    if ops.get('Conv', 0) or not ops.get('QLinearConv', 0):
        raise Skip(f'ONNX Runtime left {ops.get("Conv", 0)} convolutions in fp32 (its QDQ fusion '
                   'did not apply)')
    return path


def identity(case):
    return identity_onnx(case)
