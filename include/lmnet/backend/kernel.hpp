// SPDX-License-Identifier: Apache-2.0
// The kernel table every backend fills, one entry per layer type, and the engine template each
// backend specialises.
#pragma once

#include <lmnet/core/tensor_view.hpp>
#include <lmnet/detail/dependent_false.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

namespace lmnet {

/// The kernel that runs layer `Kind` on `Backend`. Each backend specialises it once per layer
/// type, next to that layer's code (backend/<name>/<layer>.hpp); what the specialisation offers
/// is the backend's own affair (reference and simd: `run`, cuda: `schedule`). A backend that
/// lacks a layer fails to compile here, naming the op in the template arguments.
template <class Backend, op Kind>
struct kernel {
  static_assert(detail::dependent_false<Backend>,
                "lmnet: no kernel for this layer on this backend (the layer is the op in the "
                "template arguments of lmnet::kernel above)");
};

/// Whether layers of kind `kind` reach a kernel: batch norms are folded into the layer before
/// them and channel slices are views, so neither ever runs.
constexpr bool runs_as_kernel(op kind) {
  return kind != op::batch_norm && kind != op::channel_slice;
}

namespace detail {

// Whether some node of `plan` runs op `kind`.
template <class Plan>
constexpr bool runs(const Plan& plan, op kind) {
  for (const node& n : plan.nodes) {
    if (!n.elided && n.kind() == kind) return true;
  }
  return false;
}

inline constexpr struct every_op_t {
} every_op;

template <class Backend, const auto& Ops, class F>
void with_kernel(op kind, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (
        [&] {
          constexpr op each = static_cast<op>(I);
          constexpr bool needed = [] {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(Ops)>, every_op_t>) {
              return runs_as_kernel(each);
            } else {
              return runs_as_kernel(each) && runs(Ops, each);
            }
          }();
          if constexpr (needed) {
            if (kind == each) f(kernel<Backend, each>{});
          }
        }(),
        ...);
  }
  (std::make_integer_sequence<int, op_count>{});
}

}  // namespace detail

/// Calls f(kernel<Backend, kind>{}) for a node of plan `Plan`, instantiating the kernel of every
/// op the plan runs: a backend's op mapping cannot skip one, as a missing kernel is a compile
/// error, not a layer left out at run time.
template <class Backend, const auto& Plan, class F>
void with_kernel(op kind, F&& f) {
  detail::with_kernel<Backend, Plan>(kind, f);
}

/// The same for any plan: instantiates the kernel of every op that runs at all.
template <class Backend, class F>
void with_kernel(op kind, F&& f) {
  detail::with_kernel<Backend, detail::every_op>(kind, f);
}

/// Runs `Kernel::run(args)` out of line: one copy per backend and op, whatever the plans that run
/// it, so a translation unit with several networks compiles each kernel once (compile time).
template <class Kernel, class Args>
[[gnu::noinline]] void run_kernel(const Args& args) {
  Kernel::run(args);
}

/// Executes a compiled plan on `Backend`: owns the packed weights and the activation arena. Each
/// backend specialises it.
template <class Backend, const auto& Plan>
class engine {
  static_assert(detail::dependent_false<Backend>,
                "lmnet: no engine for this backend; include its header (for example "
                "<lmnet/backend/simd.hpp>)");
};

/// What a node-by-node kernel receives for one node: its inputs and output as views for the
/// current batch, the residual it adds (data == nullptr when none), its weights and bias in the
/// canonical folded layout (io/bind.hpp).
struct kernel_args {
  const node& n;
  std::span<const tensor_view<const float>> inputs;
  tensor_view<float> output;
  tensor_view<const float> residual;
  const float* weights;
  const float* bias;
};

/// What one step of an engine runs, as profiles report it (lmnet::profile): nodes [first, last]
/// of the plan (a layer: one node), and for a fused block the standard convolution it runs as its
/// expansion (`absorbed`, -1 when none); `output` is the step's output shape.
struct engine_step {
  enum class kind : std::uint8_t { layer, fused_block, strided_copy };
  kind what = kind::layer;
  int first = 0;
  int last = 0;
  int absorbed = -1;
  shape output{};
};

/// Told when each step of an inference begins and ends, on the calling thread (a step shared among
/// threads ends when all its parts have): the profile's timing hook. Engines take one in `run`.
template <class O>
concept StepObserver = requires(O& o, int step) {
  o.step_begins(step);
  o.step_ends(step);
};

/// The observer of a plain inference: observes nothing, and compiles to nothing.
struct no_step_observer {
  constexpr void step_begins(int) const {}
  constexpr void step_ends(int) const {}
};

/// Runs every node of plan `Plan` in order, each by `kernel<Backend, op>::run(const kernel_args&)`:
/// the reference backend's executor, and the simplest way to write a backend. The arena is
/// `Plan.arena_floats * batch` floats. Step k, for `observer`, is the k-th node that is not elided.
template <class Backend, const auto& Plan, StepObserver Observer = no_step_observer>
void execute_plan(float* arena, const float* input, int batch, const float* weights,
                  Observer&& observer = {}) {
  const auto& plan = Plan;
  int step = 0;
  for (const node& n : plan.nodes) {
    if (n.elided) continue;
    observer.step_begins(step);
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
    with_kernel<Backend, Plan>(n.kind(), [&](auto k) { run_kernel<decltype(k)>(args); });
    observer.step_ends(step++);
  }
}

/// The steps execute_plan runs for `plan`: the nodes that are not elided.
template <class Plan>
constexpr int plan_step_count(const Plan& plan) {
  int count = 0;
  for (const node& n : plan.nodes) count += n.elided ? 0 : 1;
  return count;
}

/// Step `k` of execute_plan on `plan`.
template <class Plan>
constexpr engine_step plan_step(const Plan& plan, int k) {
  for (int i = 0; i < static_cast<int>(plan.nodes.size()); ++i) {
    const node& n = plan.nodes[static_cast<std::size_t>(i)];
    if (!n.elided && k-- == 0) return {engine_step::kind::layer, i, i, -1, n.spec.output};
  }
  return {};
}

}  // namespace lmnet
