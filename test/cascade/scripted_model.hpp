// SPDX-License-Identifier: Apache-2.0
// A classifier whose logits are given by a table, for tests of cascades and caches: an input is
// a few floats, the first of which is the row of the table to answer with. It records every call.
#pragma once

#include <lmnet/core/error.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace lmnet::test {

class scripted_model {
 public:
  scripted_model(std::vector<std::vector<float>> rows, int max_batch = 64,
                 std::size_t input_size = 4)
      : rows_(std::move(rows)), max_batch_(max_batch), input_size_(input_size) {}

  std::span<const float> infer(std::span<const float> input) { return infer(input, 1); }

  std::span<const float> infer(std::span<const float> inputs, int batch) {
    if (batch < 1 || batch > max_batch_ ||
        inputs.size() != input_size_ * static_cast<std::size_t>(batch)) {
      throw error("scripted_model: bad batch");
    }
    batches.push_back(batch);
    out_.clear();
    for (int n = 0; n < batch; ++n) {
      const auto row = static_cast<std::size_t>(inputs[static_cast<std::size_t>(n) * input_size_]);
      seen.push_back(static_cast<int>(row));
      out_.insert(out_.end(), rows_.at(row).begin(), rows_.at(row).end());
    }
    return out_;
  }

  int max_batch() const { return max_batch_; }

  std::vector<int> seen;     // rows asked for, in order
  std::vector<int> batches;  // batch size of every call

 private:
  std::vector<std::vector<float>> rows_;
  int max_batch_;
  std::size_t input_size_;
  std::vector<float> out_;
};

/// The input that makes a scripted model answer with row `row`.
inline std::vector<float> scripted_input(int row, std::size_t input_size = 4) {
  std::vector<float> input(input_size, 0.25f);
  input[0] = static_cast<float>(row);
  return input;
}

}  // namespace lmnet::test
