// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <cstdint>
#include <span>

namespace lmnet::reference {

/// What an int8 kernel (kernel<backend::int8<backend::reference>, op>::run) receives for one
/// node: its uint8 tensors for the current batch and its int8 form (quantization/quantize.hpp).
struct int8_kernel_args {
  const node& n;
  const quantized_node& q;
  std::span<const tensor_view<const std::uint8_t>> inputs;
  tensor_view<std::uint8_t> output;
  tensor_view<const std::uint8_t> residual;  // data == nullptr when none
};

}  // namespace lmnet::reference
