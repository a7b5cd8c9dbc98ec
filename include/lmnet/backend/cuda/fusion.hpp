// SPDX-License-Identifier: Apache-2.0
// Which bottlenecks of a plan run as one fused kernel (kernels/fused_block.hpp): those the shared
// matcher finds (network/bottleneck.hpp), less those the fused kernel cannot compute.
#pragma once

#include <lmnet/layers/layer.hpp>
#include <lmnet/network/bottleneck.hpp>
#include <lmnet/network/node.hpp>

#include <cstddef>

namespace lmnet::cuda {

namespace detail {

// The fused kernel's depthwise stages take one odd kernel size, stride and padding for both axes
// (fused_stage): windows centred on their output.
constexpr bool is_odd_square_window(const layer_spec& s) {
  return s.kernel.height == s.kernel.width && s.stride.height == s.stride.width &&
         s.padding.height == s.padding.width && s.kernel.height % 2 == 1;
}

// Whether values `a` and `b` share arena memory (the network input has a buffer of its own).
template <class Plan>
constexpr bool share_memory(const Plan& plan, int a, int b) {
  const int sa = plan.value_at(a).storage, sb = plan.value_at(b).storage;
  if (sa < 0 || sb < 0) return false;
  const value& x = plan.value_at(sa);
  const value& y = plan.value_at(sb);
  return x.offset < y.offset + y.image.size() && y.offset < x.offset + x.image.size();
}

}  // namespace detail

/// Whether the fused kernel can run bottleneck `b` (for_each_bottleneck finds them, whoever
/// described them); if not, its nodes run one by one. Besides the structure, the kernel needs:
/// - branches side by side over every hidden channel, in the order the projection reads them, so
///   that the projection's input channel e is hidden channel e;
/// - odd square depthwise windows;
/// - an output apart from the input and the residual: the kernel reads them while it writes it
///   (the plan keeps a bottleneck's inputs alive to its end, see network/compile.hpp).
template <class Plan>
constexpr bool fusable(const Plan& plan, const bottleneck& b) {
  if (!b.valid() || !b.in_channel_order()) return false;
  auto node_at = [&](int i) -> const node& { return plan.nodes[static_cast<std::size_t>(i)]; };
  int channels = 0;
  for (int k = 0; k < b.branch_count; ++k) {
    const bottleneck_branch& br = b.branch(k);
    channels += br.channels;
    for (int d = 0; d < br.depth; ++d) {
      if (!detail::is_odd_square_window(node_at(br.nodes[static_cast<std::size_t>(d)]).spec)) {
        return false;
      }
    }
  }
  if (channels != plan.value_at(b.hidden).image.channels) return false;
  const node& project = node_at(b.project);
  if (detail::share_memory(plan, project.output, b.input)) return false;
  return project.residual < 0 || !detail::share_memory(plan, project.output, project.residual);
}

}  // namespace lmnet::cuda
