// SPDX-License-Identifier: Apache-2.0
// Calibration: sample images run through the fp32 network (the reference kernels, node by node),
// and each tensor's range becomes its quant params. Tensors that share memory or must share a
// scale (a slice and its source, a concat and its inputs, a channel shuffle or max pooling and
// its input) are calibrated as one.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/kernels.hpp>
#include <lmnet/core/aligned_buffer.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/quantization/params.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// How a tensor's range is chosen from the values calibration saw.
enum class range_rule : std::uint8_t {
  min_max,     // the smallest and largest values
  percentile,  // the values at `percentile` and 100 - `percentile` percent: rare outliers aside
};

struct quantization_options {
  range_rule rule = range_rule::percentile;
  double percentile = 99.99;  // percentile: the share of each tensor's values its range covers
  int batch = 8;              // images run together
};

/// Quant params of every value (tensor) of a plan, indexed like plan.values.
using value_quantization = std::vector<quant_params>;

namespace detail {

// Values that must share quant params, as a union-find forest.
class value_groups {
 public:
  explicit value_groups(std::size_t values) : parent_(values) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  int root(int v) {
    while (parent_[static_cast<std::size_t>(v)] != v) {
      v = parent_[static_cast<std::size_t>(v)] =
          parent_[static_cast<std::size_t>(parent_[static_cast<std::size_t>(v)])];
    }
    return v;
  }
  void join(int a, int b) { parent_[static_cast<std::size_t>(root(a))] = root(b); }

 private:
  std::vector<int> parent_;
};

template <class Plan>
value_groups shared_scales(const Plan& plan) {
  value_groups groups(plan.values.size());
  for (const node& n : plan.nodes) {
    switch (n.kind()) {
      case op::channel_slice:
      case op::channel_shuffle:
      case op::max_pool2d:
      case op::concat:
        for (int k = 0; k < n.input_count; ++k)
          groups.join(n.inputs[static_cast<std::size_t>(k)], n.output);
        break;
      default:
        break;
    }
  }
  return groups;
}

// Runs `count` images through the reference kernels node by node and calls
// observe(value, values of it) after each node (and for the input).
template <class Plan, class Observe>
void run_fp32(const Plan& plan, std::span<const float> folded, std::span<const float> images,
              std::size_t count, int batch, Observe observe) {
  const std::size_t image_floats = plan.input_shape().size();
  aligned_buffer arena(plan.arena_floats * static_cast<std::size_t>(batch));
  std::vector<float> gathered;
  auto view_values = [&](int v, int b, const float* input) {
    const tensor_view<const float> t =
        plan.view(v, static_cast<const float*>(arena.data()), input, b);
    gathered.clear();
    for (int n = 0; n < t.batch; ++n)
      for (int y = 0; y < t.height; ++y)
        for (int x = 0; x < t.width; ++x)
          for (int c = 0; c < t.channels; ++c) gathered.push_back(t(n, y, x, c));
    observe(v, std::span<const float>(gathered));
  };
  for (std::size_t first = 0; first < count; first += static_cast<std::size_t>(batch)) {
    const int b =
        static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), count - first));
    const float* input = images.data() + first * image_floats;
    observe(plan.input_value,
            std::span<const float>(input, image_floats * static_cast<std::size_t>(b)));
    for (const node& n : plan.nodes) {
      if (n.elided) continue;
      std::array<tensor_view<const float>, max_node_inputs> inputs{};
      for (int k = 0; k < n.input_count; ++k) {
        inputs[static_cast<std::size_t>(k)] =
            plan.view(n.inputs[static_cast<std::size_t>(k)],
                      static_cast<const float*>(arena.data()), input, b);
      }
      tensor_view<const float> residual{};
      if (n.residual >= 0)
        residual = plan.view(n.residual, static_cast<const float*>(arena.data()), input, b);
      const kernel_args args{n,
                             {inputs.data(), static_cast<std::size_t>(n.input_count)},
                             plan.view(n.output, arena.data(), input, b),
                             residual,
                             folded.data() + n.weight_offset,
                             folded.data() + n.bias_offset};
      with_kernel<backend::reference>(n.kind(), [&](auto k) { decltype(k)::run(args); });
      view_values(n.output, b, input);
    }
  }
}

inline void check_calibration_images(std::span<const float> images, std::size_t image_floats) {
  if (images.empty()) throw error("calibration needs at least one image, got none");
  if (images.size() % image_floats != 0) {
    throw error("calibration images hold " + std::to_string(images.size()) +
                " floats, not a whole number of images of " + std::to_string(image_floats));
  }
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (!std::isfinite(images[i])) {
      throw error("calibration image " + std::to_string(i / image_floats) +
                  " has a non-finite value at index " + std::to_string(i % image_floats));
    }
  }
  for (std::size_t first = 0; first < images.size(); first += image_floats) {
    const auto image = images.subspan(first, image_floats);
    const auto [low, high] = std::minmax_element(image.begin(), image.end());
    if (*low == *high) {
      throw error("calibration image " + std::to_string(first / image_floats) +
                  " is constant (every value is " + std::to_string(*low) +
                  "): calibrate on images like those the model will see");
    }
  }
}

// The value at fraction `q` of a histogram of `bins` over [low, high] holding `total` values.
inline float histogram_quantile(const std::vector<std::uint64_t>& bins, float low, float high,
                                std::uint64_t total, double q) {
  const double want = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t b = 0; b < bins.size(); ++b) {
    seen += static_cast<double>(bins[b]);
    if (seen >= want) {
      return low + (high - low) * static_cast<float>(b + 1) / static_cast<float>(bins.size());
    }
  }
  return high;
}

}  // namespace detail

/// Chooses quant params for every value of `plan` from `images` (NHWC floats, one after another)
/// run through the fp32 network with the canonical folded weights `folded` (io/bind.hpp). Throws
/// `lmnet::error` when there are no images, when one has a non-finite value, or when one is
/// constant.
template <class Plan>
value_quantization calibrate_quantization(const Plan& plan, std::span<const float> folded,
                                          std::span<const float> images,
                                          quantization_options options = {}) {
  const std::size_t image_floats = plan.input_shape().size();
  detail::check_calibration_images(images, image_floats);
  if (options.batch < 1) throw error("calibration batch must be >= 1");
  if (!(options.percentile > 50.0 && options.percentile <= 100.0)) {
    throw error("calibration percentile must be in (50, 100], got " +
                std::to_string(options.percentile));
  }
  const std::size_t count = images.size() / image_floats;
  const std::size_t values = plan.values.size();
  detail::value_groups groups = detail::shared_scales(plan);
  std::vector<int> group(values);
  for (std::size_t v = 0; v < values; ++v) group[v] = groups.root(static_cast<int>(v));

  // Pass 1: each group's smallest and largest value.
  std::vector<float> low(values, std::numeric_limits<float>::infinity());
  std::vector<float> high(values, -std::numeric_limits<float>::infinity());
  detail::run_fp32(plan, folded, images, count, options.batch,
                   [&](int v, std::span<const float> x) {
                     const auto g = static_cast<std::size_t>(group[static_cast<std::size_t>(v)]);
                     for (float f : x) {
                       low[g] = std::min(low[g], f);
                       high[g] = std::max(high[g], f);
                     }
                   });

  // Pass 2 (percentile): each group's histogram over that range, then its tails cut.
  if (options.rule == range_rule::percentile && options.percentile < 100.0) {
    constexpr std::size_t bin_count = 2048;
    std::vector<std::vector<std::uint64_t>> bins(values);
    std::vector<std::uint64_t> totals(values, 0);
    detail::run_fp32(plan, folded, images, count, options.batch,
                     [&](int v, std::span<const float> x) {
                       const auto g = static_cast<std::size_t>(group[static_cast<std::size_t>(v)]);
                       if (!(high[g] > low[g])) return;
                       if (bins[g].empty()) bins[g].assign(bin_count, 0);
                       const float width = (high[g] - low[g]) / static_cast<float>(bin_count);
                       for (float f : x) {
                         const auto b = static_cast<std::size_t>((f - low[g]) / width);
                         ++bins[g][std::min(b, bin_count - 1)];
                       }
                       totals[g] += x.size();
                     });
    const double tail = 1.0 - options.percentile / 100.0;
    for (std::size_t g = 0; g < values; ++g) {
      if (bins[g].empty()) continue;
      // Each side keeps its outliers only if they are more than the tail (a ReLU's zeros stay).
      const float cut_low = detail::histogram_quantile(bins[g], low[g], high[g], totals[g], tail);
      const float cut_high =
          detail::histogram_quantile(bins[g], low[g], high[g], totals[g], 1.0 - tail);
      const float bin = (high[g] - low[g]) / static_cast<float>(bin_count);
      low[g] = std::max(low[g], cut_low - bin);
      high[g] = std::min(high[g], cut_high);
    }
  }

  value_quantization params(values);
  for (std::size_t v = 0; v < values; ++v) {
    const auto g = static_cast<std::size_t>(group[v]);
    params[v] = low[g] <= high[g] ? quant_params_for(low[g], high[g]) : quant_params{};
  }
  return params;
}

}  // namespace lmnet
