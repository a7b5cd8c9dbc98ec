// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/layers/conv2d.hpp>
#include <lmnet/layers/dense.hpp>
#include <lmnet/layers/global_avg_pool.hpp>
#include <lmnet/layers/max_pool2d.hpp>
#include <lmnet/models/make_divisible.hpp>
#include <lmnet/network/compile.hpp>

namespace lmnet::models {

struct plain_cnn_options {
  int classes = 10;
  int channels = 3;
  int resolution = 32;
  double width = 1.0;
};

/// A VGG-style CNN, small enough for a cascade's first stage: three stages of two 3x3
/// conv-BN-ReLU (16, 32, 64 channels at width 1) with 2x2 max-pooling between them, global
/// average pooling, a linear classifier. Modules `features.*` and `classifier`.
constexpr auto plain_cnn(plain_cnn_options o = {}) {
  const int c1 = make_divisible(16 * o.width), c2 = make_divisible(32 * o.width),
            c3 = make_divisible(64 * o.width);
  return network{
      input{o.resolution, o.resolution, o.channels},
      named("features",
            sequential(conv_bn(conv2d{.out = c1}, relu), conv_bn(conv2d{.out = c1}, relu),
                       max_pool2d{.kernel = 2}, conv_bn(conv2d{.out = c2}, relu),
                       conv_bn(conv2d{.out = c2}, relu), max_pool2d{.kernel = 2},
                       conv_bn(conv2d{.out = c3}, relu), conv_bn(conv2d{.out = c3}, relu))),
      global_avg_pool{}, named("classifier", dense{.out = o.classes})};
}

}  // namespace lmnet::models
