// SPDX-License-Identifier: Apache-2.0
// One filter per channel: the int8 grouped convolution with as many groups as channels.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/conv2d.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::depthwise_conv2d> {
  static void run(const reference::int8_kernel_args& a) { reference::conv2d_int8(a); }
};

}  // namespace lmnet
