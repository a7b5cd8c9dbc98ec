// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/kernels.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/aligned_buffer.hpp>

#include <algorithm>
#include <span>

namespace lmnet {

/// Runs a plan node by node with the reference kernels, on the canonical folded weights.
template <const auto& Plan>
class engine<backend::reference, Plan> {
 public:
  explicit engine(int max_batch)
      : max_batch_(max_batch),
        arena_(Plan.arena_floats * static_cast<std::size_t>(max_batch)),
        weights_(Plan.weight_floats) {}

  void load(std::span<const float> folded) {
    std::copy(folded.begin(), folded.end(), weights_.data());
  }

  /// Runs `batch` images and returns a view of the output in the arena; `observer` is told when
  /// each step (each node that is not elided) begins and ends.
  template <StepObserver Observer = no_step_observer>
  tensor_view<const float> run(const float* input, int batch, Observer&& observer = {}) {
    execute_plan<backend::reference, Plan>(arena_.data(), input, batch, weights_.data(), observer);
    return Plan.view(Plan.output_value, static_cast<const float*>(arena_.data()), input, batch);
  }

  int max_batch() const { return max_batch_; }

  /// The steps `run` takes, and what each runs (for lmnet::profile).
  static constexpr int step_count() { return plan_step_count(Plan); }
  static constexpr engine_step describe_step(int k) { return plan_step(Plan, k); }

 private:
  int max_batch_;
  aligned_buffer arena_;
  aligned_buffer weights_;
};

}  // namespace lmnet
