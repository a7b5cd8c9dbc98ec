// SPDX-License-Identifier: Apache-2.0
// The whole networks scripts/compare-peers times, shared by lmnet's network benchmarks
// (bench_simd), the native whole-network peers (bench_onednn_network, bench_xnnpack_network) and
// the tool that hands the same weights, input and lmnet's output to the Python peers
// (lmnet_peer_reference): every one of them runs the same network on the same folded weights
// (random_weights{1}) and the same image.
#pragma once

#include "layer_cases.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace lmnet::bench {

inline constexpr auto mobilenet_v2_32 = models::mobilenet_v2({.resolution = 32});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});

/// The seed of the weights every implementation runs (lmnet::random_weights).
inline constexpr std::uint64_t weight_seed = 1;

/// Calls f.template operator()<Net>(model, size) for each case: the model's name (as the PyTorch
/// mirrors in tools/lmnet_tools/models.py name it) and its input size.
template <class F>
void for_each_network(F&& f) {
  f.template operator()<mobilenet_v2_224>("mobilenet_v2", 224);
  f.template operator()<mobilenet_v2_32>("mobilenet_v2", 32);
  f.template operator()<mobilenet_v2_cifar>("mobilenet_v2_cifar", 32);
  f.template operator()<shufflenet_v2_cifar>("shufflenet_v2_cifar", 32);
  f.template operator()<l_mobilenet_32>("l_mobilenet", 32);
}

/// "<kind>/<model>/<HxW>": the prefix of the benchmark names (network, or network_int8).
inline std::string network_name(const char* model, int size, const char* kind = "network") {
  return std::string(kind) + "/" + model + "/" + std::to_string(size) + "x" + std::to_string(size);
}

/// The image every implementation runs, (H, W, C) floats uniform in [-1, 1].
inline aligned_buffer network_input(std::size_t floats) {
  aligned_buffer b(floats);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float& v : b.span()) v = d(rng);
  return b;
}

/// The network's weights in the canonical folded layout (io/bind.hpp): batch norm folded into
/// the weights and biases, convolutions (O, KH, KW, I/groups), dense (O, H*W*C).
template <const auto& Net>
aligned_buffer folded_weights() {
  aligned_buffer folded(plan_of<Net>.weight_floats);
  random_weights source{weight_seed};
  bind_weights(plan_of<Net>, source, folded.span());
  return folded;
}

/// lmnet's output on the simd backend, one thread: what every peer is compared with.
template <const auto& Net>
std::vector<float> lmnet_output(std::span<const float> image) {
  model<Net, backend::simd<>> m(1);
  m.load(random_weights{weight_seed});
  const std::span<const float> out = m.infer(image);
  return {out.begin(), out.end()};
}

/// The images the int8 cases are calibrated on: `calibration_count` more images like the timed one
/// (uniform in [-1, 1]), from other seeds, one after another.
inline constexpr int calibration_count = 4;
inline aligned_buffer calibration_images(std::size_t image_floats) {
  aligned_buffer b(image_floats * calibration_count);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float& v : b.span()) v = d(rng);
  return b;
}

/// The quant params of the network's int8 case: its folded weights calibrated on
/// calibration_images() (the default rule, percentile), once per process.
template <const auto& Net>
const value_quantization& int8_quantization() {
  static const value_quantization values = [] {
    const aligned_buffer folded = folded_weights<Net>();
    const aligned_buffer images = calibration_images(plan_of<Net>.input_shape().size());
    return calibrate_quantization(plan_of<Net>, folded.span(), images.span());
  }();
  return values;
}

/// lmnet int8 (the simd kernels), loaded with the int8 case's params.
template <const auto& Net>
using int8_model = model<Net, backend::int8<backend::simd<>>>;
template <const auto& Net>
void load_int8(int8_model<Net>& m) {
  const aligned_buffer folded = folded_weights<Net>();
  m.load_folded(folded.span(), int8_quantization<Net>());
}

/// lmnet int8's output, one thread: what every int8 peer is compared with beside lmnet's fp32 one.
template <const auto& Net>
std::vector<float> lmnet_int8_output(std::span<const float> image) {
  int8_model<Net> m(1);
  load_int8(m);
  const std::span<const float> out = m.infer(image);
  return {out.begin(), out.end()};
}

/// The largest difference from lmnet's output, relative to the largest magnitude of lmnet's
/// output (an element-wise ratio would blow up on outputs near zero).
inline double max_relative_error(std::span<const float> peer, std::span<const float> lmnet) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < lmnet.size(); ++i) {
    const double d = std::abs(static_cast<double>(peer[i]) - static_cast<double>(lmnet[i]));
    diff = std::isfinite(d) ? std::max(diff, d) : INFINITY;
    scale = std::max(scale, std::abs(static_cast<double>(lmnet[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace lmnet::bench
