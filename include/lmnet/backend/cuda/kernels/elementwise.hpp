// SPDX-License-Identifier: Apache-2.0
// The one body of the layers that move or combine elements without weights: an unfused activation
// or residual add, the copy of a concat input that could not be written in place, the channel
// shuffle (activation.hpp, add.hpp, concat.hpp, channel_shuffle.hpp schedule it).
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>

namespace lmnet::cuda {

enum class elementwise_op : unsigned char {
  activation,  // out = act(a); with act none, a copy (concat inputs)
  add,         // out = act(a + b)
  shuffle,     // out channel j = a channel (j % groups) * (C / groups) + j / groups
};

struct elementwise_params {
  elementwise_op kind = elementwise_op::activation;
  tensor_view<const float> a;
  tensor_view<const float> b;
  tensor_view<float> out;
  int groups = 1;
  activation act = activation::none;
};

/// One thread per output element, channels fastest.
struct elementwise {
  using params = elementwise_params;
  static constexpr int threads = 256;

  LMNET_HOST_DEVICE static long long items(const params& p) {
    return static_cast<long long>(p.out.batch) * p.out.height * p.out.width * p.out.channels;
  }
  static launch_shape shape(const params& p) { return {grid_for(items(p), threads), threads, 0}; }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    for_each_item(ctx, items(p), [&](long long item) {
      const nhwc_item where = nhwc_item::of(item, p.out.height, p.out.width, p.out.channels);
      const long long pixel = where.pixel;
      const int c = where.c;
      const float* a = p.a.data + static_cast<std::size_t>(pixel) * p.a.channel_stride;
      float v = 0.0f;
      switch (p.kind) {
        case elementwise_op::activation:
          v = load(a + c);
          break;
        case elementwise_op::add:
          v = load(a + c) +
              load(p.b.data + static_cast<std::size_t>(pixel) * p.b.channel_stride + c);
          break;
        case elementwise_op::shuffle: {
          const int per_group = p.out.channels / p.groups;
          v = load(a + (c % p.groups) * per_group + c / p.groups);
          break;
        }
      }
      p.out.data[static_cast<std::size_t>(pixel) * p.out.channel_stride + c] = activate(v, p.act);
    });
  }
};

}  // namespace lmnet::cuda
