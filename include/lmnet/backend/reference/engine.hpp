// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/channels.hpp>
#include <lmnet/backend/reference/conv2d.hpp>
#include <lmnet/backend/reference/dense.hpp>
#include <lmnet/backend/reference/elementwise.hpp>
#include <lmnet/backend/reference/pooling.hpp>
#include <lmnet/backend/reference/softmax.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/aligned_buffer.hpp>

#include <algorithm>
#include <span>

namespace lmnet {

// Reference kernels: thin adapters from kernel_args to the scalar functions.
template <op Kind>
requires(Kind == op::conv2d || Kind == op::depthwise_conv2d ||
         Kind == op::pointwise_conv2d) struct kernel<backend::reference, Kind> {
  static void run(const kernel_args& a) {
    reference::conv2d(a.inputs[0], a.output, a.weights, a.bias, a.n.spec, a.residual);
  }
};
template <>
struct kernel<backend::reference, op::dense> {
  static void run(const kernel_args& a) {
    reference::dense(a.inputs[0], a.output, a.weights, a.bias, a.n.spec);
  }
};
template <>
struct kernel<backend::reference, op::activation> {
  static void run(const kernel_args& a) {
    reference::apply_activation(a.inputs[0], a.output, a.n.spec.act);
  }
};
template <>
struct kernel<backend::reference, op::max_pool2d> {
  static void run(const kernel_args& a) { reference::max_pool2d(a.inputs[0], a.output, a.n.spec); }
};
template <>
struct kernel<backend::reference, op::global_avg_pool> {
  static void run(const kernel_args& a) { reference::global_avg_pool(a.inputs[0], a.output); }
};
template <>
struct kernel<backend::reference, op::add> {
  static void run(const kernel_args& a) {
    reference::add(a.inputs[0], a.inputs[1], a.output, a.n.spec.act);
  }
};
template <>
struct kernel<backend::reference, op::concat> {
  static void run(const kernel_args& a) { reference::concat(a.inputs, a.output); }
};
template <>
struct kernel<backend::reference, op::channel_shuffle> {
  static void run(const kernel_args& a) {
    reference::channel_shuffle(a.inputs[0], a.output, a.n.spec.groups);
  }
};
template <>
struct kernel<backend::reference, op::softmax> {
  static void run(const kernel_args& a) { reference::softmax(a.inputs[0], a.output); }
};

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

  /// Runs `batch` images and returns a view of the output in the arena.
  tensor_view<const float> run(const float* input, int batch) {
    execute_plan<backend::reference>(Plan, arena_.data(), input, batch, weights_.data());
    return Plan.view(Plan.output_value, static_cast<const float*>(arena_.data()), input, batch);
  }

  int max_batch() const { return max_batch_; }

 private:
  int max_batch_;
  aligned_buffer arena_;
  aligned_buffer weights_;
};

}  // namespace lmnet
