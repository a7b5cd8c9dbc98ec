// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// A tensor a network reads: its PyTorch `state_dict` name and shape.
struct tensor_spec {
  std::string name;
  std::vector<std::int64_t> shape;
};

/// Where a model's weights come from: anything that can fill a tensor asked for by its PyTorch
/// `state_dict` name and shape, and that can say at the end whether it held tensors nobody asked
/// for. Both report problems by throwing `lmnet::error` with the tensor's name.
///
/// A source may also have `expect(std::span<const tensor_spec>)`, called with every tensor the
/// network reads before the first `read` (a source that knows its names then reports every
/// missing and unexpected tensor in one error), and `origin()`, the name of its file, which starts
/// the messages of the checks done while binding.
template <class S>
concept WeightSource = requires(S& source, const std::string& name,
                                std::span<const std::int64_t> shape, std::span<float> out) {
  source.read(name, shape, out);
  source.finish();
};

/// "[16, 3, 3, 3]".
inline std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace lmnet
