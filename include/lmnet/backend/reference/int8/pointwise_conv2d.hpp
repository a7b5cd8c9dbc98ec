// SPDX-License-Identifier: Apache-2.0
// A 1x1 convolution: the int8 convolution with a one-pixel window.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/conv2d.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::pointwise_conv2d> {
  static void run(const reference::int8_kernel_args& a) { reference::conv2d_int8(a); }
};

}  // namespace lmnet
