// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/tensor_view.hpp>
#include <lmnet/detail/dependent_false.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

#include <array>
#include <span>

namespace lmnet {

/// What a kernel receives for one node: its inputs and output as views for the current batch,
/// the residual it adds (data == nullptr when none) and its weights in the backend's layout.
struct kernel_args {
  const node& n;
  std::span<const tensor_view<const float>> inputs;
  tensor_view<float> output;
  tensor_view<const float> residual;
  const float* weights;
  const float* bias;
};

/// The kernel that runs layer `Kind` on `Backend`: `static void run(const kernel_args&)`. Each
/// backend specialises it for the layers it supports; a missing one fails to compile here.
template <class Backend, op Kind>
struct kernel {
  static_assert(detail::dependent_false<Backend>,
                "lmnet: no kernel for this layer on this backend");
};

/// Executes a compiled plan on `Backend`: owns the packed weights and the activation arena. Each
/// backend specialises it.
template <class Backend, const auto& Plan>
class engine {
  static_assert(detail::dependent_false<Backend>,
                "lmnet: no engine for this backend; include its header (for example "
                "<lmnet/backend/simd.hpp>)");
};

namespace detail {

template <class Backend, op... Kinds>
void dispatch_kernel(op kind, const kernel_args& args) {
  ((kind == Kinds ? kernel<Backend, Kinds>::run(args) : void()), ...);
}

}  // namespace detail

/// Runs every node of `plan` in order with `Backend`'s kernels. Weights are in the canonical
/// folded layout (io/bind.hpp), the arena is `plan.arena_floats * batch` floats.
template <class Backend, class Plan>
void execute_plan(const Plan& plan, float* arena, const float* input, int batch,
                  const float* weights) {
  for (const node& n : plan.nodes) {
    if (n.elided) continue;
    std::array<tensor_view<const float>, max_node_inputs> inputs{};
    for (int k = 0; k < n.input_count; ++k) {
      inputs[static_cast<std::size_t>(k)] =
          plan.view(n.inputs[static_cast<std::size_t>(k)], arena, input, batch);
    }
    tensor_view<const float> residual{};
    if (n.residual >= 0) residual = plan.view(n.residual, arena, input, batch);
    const kernel_args args{n,
                           {inputs.data(), static_cast<std::size_t>(n.input_count)},
                           plan.view(n.output, arena, input, batch),
                           residual,
                           weights + n.weight_offset,
                           weights + n.bias_offset};
    // Batch norms are folded and slices are views, so they never reach a kernel.
    detail::dispatch_kernel<Backend, op::conv2d, op::depthwise_conv2d, op::pointwise_conv2d,
                            op::dense, op::activation, op::max_pool2d, op::global_avg_pool, op::add,
                            op::concat, op::channel_shuffle, op::softmax>(n.kind(), args);
  }
}

}  // namespace lmnet
