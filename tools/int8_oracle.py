"""An outside oracle for lmnet's int8 backend: every trained Fashion-MNIST model, calibrated by
lmnet (lmnet_quantize), exported with lmnet's own quant params and int8 weights
(lmnet_export_int8) as an ONNX QDQ model (tools/int8_onnx.py) and run by ONNX Runtime in int8 (its
QDQ transformer fuses the model into QLinearConv, QLinearAdd, ...) over the test set, beside lmnet
int8 (lmnet_fashion_mnist --backend int8) on the same images. Run by scripts/int8-oracle, in
build/peers-venv (onnx, onnxruntime):

    python tools/int8_oracle.py [--models l_mobilenet ...] [--count N] [--images N]
        [--build build/release] [--weights examples/weights/fashion_mnist] [--work build/int8]
        [--threads N] [--markdown]

For each model it prints

    ort_int8_agreement <model> top1_agreement_lmnet_int8=<r> ort_int8_accuracy=<a>
        lmnet_int8_accuracy=<b> logits_equal=<e> ort_int8_nodes=<q> ort_float_convs=<f>

(on one line): the share of images on which ONNX Runtime's top-1 class is lmnet int8's, both
accuracies, the share of images whose every logit is the same float, the nodes ONNX Runtime runs
in int8 (QLinear*) and the convolutions it left in float (0: all of them run in int8).
--markdown then prints docs/quantization.md's table.
"""

import argparse
import collections
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import int8_numpy  # noqa: E402
import int8_onnx  # noqa: E402
from lmnet_tools import fashion_mnist  # noqa: E402

MODELS = ['l_mobilenet', 'mobilenet_v2_cifar', 'shufflenet_v2_cifar', 'plain_cnn', 'resnet8',
          'shufflenet_v2_x0_5_cifar', 'mobilenet_v2_x0_5_cifar']
TERM_IMAGES = 32  # training images that place the residual terms' zero points (int8_onnx.py)


def ort_session(path, threads):
    """An ONNX Runtime session with every graph optimization (the QDQ fusions among them) and
    the op types of the graph it runs."""
    import onnx
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory() as directory:
        options.optimized_model_filepath = os.path.join(directory, 'optimized.onnx')
        session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        ops = collections.Counter(n.op_type for n in onnx.load(
            options.optimized_model_filepath).graph.node)
    return session, ops


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='*', default=MODELS)
    parser.add_argument('--count', type=int, default=10000)
    parser.add_argument('--images', type=int, default=500, help='calibration images')
    parser.add_argument('--build', default='build/release')
    parser.add_argument('--weights', default='examples/weights/fashion_mnist')
    parser.add_argument('--work', default='build/int8')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    tools = os.path.join(args.build, 'tools')
    os.makedirs(args.work, exist_ok=True)
    _, labels = fashion_mnist.load('t10k')
    labels = labels[:args.count].astype(np.int64)
    train, _ = fashion_mnist.load('train')
    samples = fashion_mnist.preprocess(train[:TERM_IMAGES]).transpose(0, 2, 3, 1)
    inputs_path = os.path.join(args.work, 'test_inputs.f32')
    rows = []

    for name in args.models:
        weights = os.path.join(args.weights, f'{name}.safetensors')
        if not os.path.exists(weights):
            continue
        stem = os.path.join(args.work, name)
        subprocess.run([os.path.join(tools, 'lmnet_quantize'), name, weights,
                        stem + '.safetensors', '--images', str(args.images)], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([os.path.join(tools, 'lmnet_export_int8'), name, stem + '.safetensors',
                        stem + '.json'], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([os.path.join(tools, 'lmnet_fashion_mnist'), name, stem + '.safetensors',
                        '--backend', 'int8', '--count', str(args.count), '--logits',
                        stem + '.int8.f32', '--inputs', inputs_path], check=True,
                       stdout=subprocess.DEVNULL)
        lmnet = np.fromfile(stem + '.int8.f32', np.float32).reshape(args.count, -1)
        images = np.fromfile(inputs_path, np.float32).reshape(args.count, 1, 32, 32)

        network = int8_onnx.load(stem + '.json')
        terms = int8_numpy.residual_terms(network, samples)
        import onnx
        onnx.save(int8_onnx.build(network, batch=0, terms=terms), stem + '.qdq.onnx')
        session, ops = ort_session(stem + '.qdq.onnx', args.threads)
        ort = np.concatenate([session.run(None, {'input': images[i:i + 500]})[0]
                              for i in range(0, args.count, 500)])
        agreement = float((ort.argmax(1) == lmnet.argmax(1)).mean())
        accuracies = ((ort.argmax(1) == labels).mean(), (lmnet.argmax(1) == labels).mean())
        equal = (ort == lmnet).all(axis=1).mean()
        int8_nodes = sum(v for k, v in ops.items() if k.startswith('QLinear'))
        float_convs = ops.get('Conv', 0) + ops.get('FusedConv', 0)
        rows.append((name, agreement, *accuracies, equal))
        print(f'ort_int8_agreement {name} top1_agreement_lmnet_int8={agreement:.4f} '
              f'ort_int8_accuracy={accuracies[0]:.4f} lmnet_int8_accuracy={accuracies[1]:.4f} '
              f'logits_equal={equal:.4f} ort_int8_nodes={int8_nodes} '
              f'ort_float_convs={float_convs}', flush=True)
    if args.markdown:
        print('\n| model | top-1 agreement with lmnet int8 | ONNX Runtime int8 accuracy | '
              'lmnet int8 accuracy | logits_equal |')
        print('|---|---:|---:|---:|---:|')
        for name, agreement, ort_accuracy, lmnet_accuracy, equal in rows:
            print(f'| {name} | {100 * agreement:.2f}% | {100 * ort_accuracy:.2f}% | '
                  f'{100 * lmnet_accuracy:.2f}% | {100 * equal:.2f}% |')


if __name__ == '__main__':
    sys.exit(main())
