"""An lmnet int8 network (the JSON of lmnet_export_int8, tools/int8_export.hpp) as an ONNX QDQ
model that runs lmnet's own quantization: ONNX Runtime's QDQ transformer fuses it into its int8
kernels (QLinearConv, QLinearAdd, QLinearGlobalAveragePool, ...) and OpenVINO reads it as int8.

    python tools/int8_onnx.py <network.json> <out.onnx> [--batch N]

The mapping (docs/quantization.md, "An outside oracle"):
- every tensor lmnet quantizes goes through QuantizeLinear/DequantizeLinear with its uint8 scale
  and zero point; the input is quantized the same way, the output dequantized;
- convolutions, depthwise and pointwise ones and the classifier (a convolution over its whole
  input, the flattening order being lmnet's (H, W, C)) take lmnet's int8 weights through
  DequantizeLinear with one scale per output channel (axis 0) and lmnet's int32 bias through
  DequantizeLinear with the scale input scale x weight scale;
- a fused activation whose clamp is the whole uint8 range (ReLU with zero point 0, ReLU6 on a
  range within [0, 6]: every calibrated one) is the quantization's saturation and is left out;
  another becomes Clip at the real values of its clamp;
- a fused residual add is Conv, QuantizeLinear to the output's scale (and a zero point centred on
  the difference of the output's and the residual's ranges), then Add and QuantizeLinear: ONNX
  Runtime's QLinearAdd then adds the rounded convolution term and the rescaled residual, lmnet's
  two roundings, except where the convolution term leaves the uint8 range;
- concatenations (axis 1), channel slices (Slice), channel shuffles (Reshape, Transpose,
  Reshape) and max pooling keep their input's params, as lmnet's do.
"""

import argparse
import base64
import json
import sys

import numpy as np

OPSET = 13

DTYPES = {'weights': np.int8, 'weight_scale': np.float32, 'bias': np.int32,
          'multiplier': np.float32}


def load(path):
    """The exported JSON with its arrays decoded to numpy."""
    with open(path) as f:
        network = json.load(f)
    for n in network['nodes']:
        for key, dtype in DTYPES.items():
            if key in n:
                n[key] = np.frombuffer(base64.b64decode(n[key]), dtype=dtype).copy()
        if 'weights' in n:
            n['weights'] = n['weights'].reshape(n['weight_shape'])
    return network


class _Graph:
    """The nodes and initializers of the model being built."""

    def __init__(self):
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.constants = [], [], {}
        self.count = 0

    def name(self, stem):
        self.count += 1
        return f'{stem}_{self.count}'

    def constant(self, array, stem='c'):
        """An initializer (shared between equal scalars)."""
        array = np.asarray(array)
        key = (array.dtype.str, array.shape, array.tobytes()) if array.size == 1 else None
        if key in self.constants:
            return self.constants[key]
        name = self.name(stem)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        if key is not None:
            self.constants[key] = name
        return name

    def op(self, kind, inputs, stem=None, **attributes):
        out = self.name(stem or kind.lower())
        self.nodes.append(self.helper.make_node(kind, inputs, [out], **attributes))
        return out

    def qdq(self, x, scale, zero_point):
        """x quantized to uint8 with (scale, zero_point) and dequantized again."""
        s = self.constant(np.float32(scale), 'scale')
        z = self.constant(np.uint8(zero_point), 'zero_point')
        return self.op('DequantizeLinear', [self.op('QuantizeLinear', [x, s, z], 'q'), s, z], 'dq')


def _params(network, v):
    value = network['values'][v]
    return value['scale'], value['zero_point']


def _term_params(network, n, seen=None):
    """The params of a fused residual add's convolution term, quantized on its own: the output's
    scale (so that it rounds as lmnet's does) where 256 codes hold the term, else that scale
    times the smallest whole factor that makes them. Beyond the output's range less the
    residual's, the term saturates the output either way; within it, the codes cover the values
    the term took on sample images (`seen`: its smallest and largest rounded value in steps of
    the output's scale, int8_numpy.residual_terms), or are centred on it without them."""
    s_o, z_o = _params(network, n['output'])
    s_r, z_r = _params(network, n['residual'])
    low_o, high_o = n['clamp']
    low = (low_o - z_o) - s_r * (255 - z_r) / s_o  # in steps of the output's scale
    high = (high_o - z_o) - s_r * (0 - z_r) / s_o
    if seen is not None:
        low, high = max(low, seen[0]), min(high, seen[1])
    factor = max(1, int(np.ceil((high - low + 1) / 256)))
    zero_point = int(np.clip(np.rint(127.5 - 0.5 * (low + high) / factor), 0, 255))
    return np.float32(s_o) * np.float32(factor), zero_point


def _weight_layer(g, network, n, x):
    """Conv on the dequantized int8 weights and bias; returns the float sum."""
    w = n['weights']
    if n['op'] == 'dense':  # (O, H*W*C): a convolution over the whole (H, W, C) input
        h, wd, c = network['values'][n['inputs'][0]]['shape']
        w = w.reshape(w.shape[0], h, wd, c)
        kernel, stride, pads, groups = [h, wd], [1, 1], [0, 0, 0, 0], 1
    else:
        ph, pw = n['padding']
        kernel, stride, pads, groups = n['kernel'], n['stride'], [ph, pw, ph, pw], n['groups']
    w = np.ascontiguousarray(w.transpose(0, 3, 1, 2))  # (O, KH, KW, I) -> (O, I, KH, KW)
    out_channels = w.shape[0]
    zeros8 = g.constant(np.zeros(out_channels, np.int8), 'w_zero')
    weight = g.op('DequantizeLinear', [g.constant(w, n['name'] + '.weight'),
                                       g.constant(n['weight_scale'], n['name'] + '.weight_scale'),
                                       zeros8], 'w', axis=0)
    s_in, _ = _params(network, n['inputs'][0])
    bias_scale = (np.float64(s_in) * n['weight_scale'].astype(np.float64)).astype(np.float32)
    bias = g.op('DequantizeLinear', [g.constant(n['bias'], n['name'] + '.bias'),
                                     g.constant(bias_scale, n['name'] + '.bias_scale'),
                                     g.constant(np.zeros(out_channels, np.int32), 'b_zero')],
                'b', axis=0)
    return g.op('Conv', [x, weight, bias], 'conv', kernel_shape=kernel, strides=stride,
                pads=pads, group=groups)


def _clamp(g, network, n, x):
    """The fused activation, where its clamp is narrower than the uint8 range."""
    low, high = n['clamp']
    if [low, high] == [0, 255]:
        return x
    s, z = _params(network, n['output'])
    return g.op('Clip', [x, g.constant(np.float32(s * (low - z))),
                         g.constant(np.float32(s * (high - z)))], 'clip')


def build(network, batch=1, terms=None):
    """The ONNX QDQ model: input 'input' (N, C, H, W) float32, output 'output' (N, classes);
    batch 0: any batch. `terms`: the ranges of the residual adds' convolution terms on sample
    images (int8_numpy.residual_terms), which place their zero points."""
    import onnx
    from onnx import TensorProto, helper
    g = _Graph()
    values = network['values']
    h, w, c = values[network['input_value']]['shape']
    floats = {network['input_value']: g.qdq('input', *_params(network, network['input_value']))}
    for n in network['nodes']:
        kind, inputs = n['op'], [floats[v] for v in n['inputs']]
        out = n['output']
        s_out, z_out = _params(network, out)
        if kind in ('conv2d', 'depthwise_conv2d', 'pointwise_conv2d', 'dense'):
            y = _weight_layer(g, network, n, inputs[0])
            if n['residual'] >= 0:
                y = g.qdq(y, *_term_params(network, n, (terms or {}).get(n['index'])))
                y = g.op('Add', [y, floats[n['residual']]], 'add')
            y = _clamp(g, network, n, y)
        elif kind == 'add':
            y = _clamp(g, network, n, g.op('Add', inputs, 'add'))
        elif kind == 'activation':
            y = g.op('Relu', inputs, 'relu') if n['activation'] == 'relu' else \
                g.op('Clip', [inputs[0], g.constant(np.float32(0)), g.constant(np.float32(6))],
                     'relu6') if n['activation'] == 'relu6' else inputs[0]
        elif kind == 'global_avg_pool':
            y = g.op('GlobalAveragePool', inputs, 'gap')
        elif kind == 'max_pool2d':
            ph, pw = n['padding']
            y = g.op('MaxPool', inputs, 'maxpool', kernel_shape=n['kernel'], strides=n['stride'],
                     pads=[ph, pw, ph, pw])
        elif kind == 'concat':
            y = g.op('Concat', inputs, 'concat', axis=1)
        elif kind == 'channel_slice':
            begin = n['channel_begin']
            y = g.op('Slice', [inputs[0], g.constant(np.array([begin], np.int64)),
                               g.constant(np.array([begin + values[out]['shape'][2]], np.int64)),
                               g.constant(np.array([1], np.int64))], 'slice')
        elif kind == 'channel_shuffle':
            groups, (hh, ww, cc) = n['groups'], values[out]['shape']
            y = g.op('Reshape', [inputs[0], g.constant(
                np.array([-1, groups, cc // groups, hh, ww], np.int64))], 'reshape')
            y = g.qdq(y, s_out, z_out)
            y = g.qdq(g.op('Transpose', [y], 'transpose', perm=[0, 2, 1, 3, 4]), s_out, z_out)
            y = g.op('Reshape', [y, g.constant(np.array([-1, cc, hh, ww], np.int64))], 'reshape')
        elif kind == 'softmax':
            y = g.op('Softmax', inputs, 'softmax', axis=1)
        else:
            raise ValueError(f'node {n["index"]}: no ONNX form for {kind}')
        floats[out] = g.qdq(y, s_out, z_out)
    classes = int(np.prod(values[network['output_value']]['shape']))
    g.nodes.append(helper.make_node(
        'Reshape', [floats[network['output_value']],
                    g.constant(np.array([-1, classes], np.int64))], ['output']))
    batch_dim = batch if batch > 0 else 'N'
    graph = helper.make_graph(
        g.nodes, f'{network["model"]}_int8',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, [batch_dim, c, h, w])],
        [helper.make_tensor_value_info('output', TensorProto.FLOAT, [batch_dim, classes])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='lmnet')
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('network')
    parser.add_argument('out')
    parser.add_argument('--batch', type=int, default=1, help='0: any batch')
    args = parser.parse_args()
    import onnx
    onnx.save(build(load(args.network), args.batch), args.out)


if __name__ == '__main__':
    sys.exit(main())
