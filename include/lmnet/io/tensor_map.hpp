// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/detail/name_match.hpp>
#include <lmnet/io/weight_source.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// Weights held in memory by name, for programs that build or convert tensors themselves.
class tensor_map {
 public:
  struct tensor {
    std::vector<std::int64_t> shape;
    std::vector<float> data;
  };

  void insert(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> data) {
    tensors_[name] = {std::move(shape), std::move(data)};
  }
  bool contains(const std::string& name) const { return tensors_.contains(name); }
  std::size_t size() const { return tensors_.size(); }

  /// Before any read: throws one error naming every missing and every unexpected tensor.
  void expect(std::span<const tensor_spec> expected) const {
    std::vector<detail::held_tensor> held;
    for (const auto& [name, t] : tensors_) held.push_back({name, t.shape});
    const detail::name_match m = detail::match_names(expected, held);
    if (!m.empty()) throw error(detail::describe_mismatch(m, expected, held));
  }

  void read(const std::string& name, std::span<const std::int64_t> shape, std::span<float> out) {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw error("missing tensor '" + name + "'");
    const tensor& t = it->second;
    if (!std::equal(t.shape.begin(), t.shape.end(), shape.begin(), shape.end())) {
      throw error("tensor '" + name + "' has shape " + shape_string(t.shape) + ", expected " +
                  shape_string(shape));
    }
    if (t.data.size() != out.size()) {
      throw error("tensor '" + name + "' holds " + std::to_string(t.data.size()) +
                  " values, expected " + std::to_string(out.size()));
    }
    std::copy(t.data.begin(), t.data.end(), out.begin());
    used_.insert(name);
  }

  /// Throws if a tensor was never read, except PyTorch's `num_batches_tracked` counters.
  void finish() const {
    for (const auto& [name, t] : tensors_) {
      if (!used_.contains(name) && !detail::is_batch_counter(name)) {
        throw error("unexpected tensor '" + name + "': no layer of the network reads it");
      }
    }
  }

 private:
  std::map<std::string, tensor> tensors_;
  std::set<std::string> used_;
};

}  // namespace lmnet
