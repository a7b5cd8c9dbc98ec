// SPDX-License-Identifier: Apache-2.0
// ShuffleNet's concat and channel shuffle, never materialised: the layers producing the concat's
// inputs write straight into the shuffle's output (step::write).
#pragma once

#include <lmnet/backend/simd/fused_block.hpp>
#include <lmnet/backend/simd/step.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

#include <cstddef>
#include <vector>

namespace lmnet::simd::detail {

// Folds each channel shuffle whose input is a concat read by nothing else into the concat's
// producers: see step::write. Steps that go away are dropped from `steps`.
template <class Plan>
constexpr void fold_shuffles(const Plan& p, std::vector<step>& steps) {
  auto step_of = [&](int node) {  // the layer or fused block that computes node's output
    for (std::size_t k = 0; k < steps.size(); ++k) {
      if (steps[k].node == node && steps[k].kind != step_kind::strided_copy)
        return static_cast<int>(k);
    }
    return -1;
  };
  std::vector<step> result;
  std::vector<bool> dropped(steps.size(), false);
  std::vector<std::vector<step>> copies_at(steps.size());
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (steps[k].kind != step_kind::layer ||
        node_at(p, steps[k].node).kind() != op::channel_shuffle)
      continue;
    const node& sh = node_at(p, steps[k].node);
    const lmnet::value& joined = p.value_at(sh.input());
    if (joined.producer < 0 || joined.consumers != 1) continue;
    const node& cat = node_at(p, joined.producer);
    const int groups = sh.spec.groups;
    if (cat.kind() != op::concat || cat.input_count != groups) continue;
    bool equal = true;
    for (int i = 0; i < groups; ++i) {
      equal =
          equal && p.value_at(cat.inputs[static_cast<std::size_t>(i)]).image.channels * groups ==
                       joined.image.channels;
    }
    if (!equal) continue;
    for (int i = 0; i < groups; ++i) {
      const int v = cat.inputs[static_cast<std::size_t>(i)];
      const lmnet::value& in = p.value_at(v);
      const int producer = in.producer < 0 ? -1 : step_of(in.producer);
      // A pointwise layer, or a fused block's projection, can store with a channel step.
      const bool redirect =
          producer >= 0 && in.consumers == 1 && in.storage == joined.storage &&
          steps[static_cast<std::size_t>(producer)].kind != step_kind::strided_copy &&
          steps[static_cast<std::size_t>(producer)].write < 0 &&
          node_at(p, in.producer).kind() == op::pointwise_conv2d &&
          node_at(p, in.producer).spec.groups == 1;
      if (redirect) {
        step& pr = steps[static_cast<std::size_t>(producer)];
        pr.write = sh.output;
        pr.channel_offset = i;
        pr.channel_step = groups;
      } else {
        step copy;
        copy.kind = step_kind::strided_copy;
        copy.node = steps[k].node;
        copy.source = v;
        copy.write = sh.output;
        copy.channel_offset = i;
        copy.channel_step = groups;
        copy.parallel = sh.spec.output.size() >= parallel_threshold;
        copies_at[k].push_back(copy);
      }
    }
    dropped[k] = true;
    const int concat_step = step_of(joined.producer);
    if (concat_step >= 0) dropped[static_cast<std::size_t>(concat_step)] = true;
  }
  for (std::size_t k = 0; k < steps.size(); ++k) {
    for (const step& c : copies_at[k]) result.push_back(c);
    if (!dropped[k]) result.push_back(steps[k]);
  }
  steps = result;
}

}  // namespace lmnet::simd::detail
