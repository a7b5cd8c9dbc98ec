// SPDX-License-Identifier: Apache-2.0
// The simd backend in int8: the input quantized on entry, uint8 tensors in the plan's arena, each
// layer by its kernel<backend::int8<backend::simd<Arch>>, op>, shared among threads as the fp32
// engine shares its steps (work_sharing.hpp), the output dequantized on exit.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/simd/int8/kernels.hpp>
#include <lmnet/backend/simd/int8/packing.hpp>
#include <lmnet/backend/simd/step.hpp>
#include <lmnet/backend/simd/work_sharing.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/aligned_buffer.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/core/executor.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lmnet {

namespace simd::detail {

// The int8 engine's steps: every node that runs, those with enough work shared among threads.
template <std::size_t N>
struct int8_schedule {
  std::array<step, N> steps{};
  int step_count = 0;
  std::array<int8_packing, N> packs{};
  std::size_t weight_bytes = 0;
  std::size_t scratch_bytes = 0;  // per thread
};

template <class Plan>
constexpr auto make_int8_schedule(const Plan& p) {
  int8_schedule<Plan::node_count> s;
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < Plan::node_count; ++i) {
    const node& n = p.nodes[i];
    s.packs[i] = int8_packing_for(n.spec);
    s.packs[i].offset = cursor;
    cursor += s.packs[i].bytes;
    if (n.elided) continue;
    step st;
    st.node = static_cast<int>(i);
    st.parallel = n.spec.macs() + n.spec.output.size() >= parallel_threshold;
    s.steps[static_cast<std::size_t>(s.step_count++)] = st;
    const std::size_t scratch = n.kind() == op::conv2d  ? int8_conv2d_scratch_bytes(n.spec)
                                : n.kind() == op::dense ? int8_dense_scratch_bytes(n.spec)
                                                        : 0;
    s.scratch_bytes = std::max(s.scratch_bytes, round_up_64(scratch));
  }
  s.weight_bytes = cursor;
  return s;
}

}  // namespace simd::detail

/// Runs a plan in int8 with the simd kernels for `Arch` (VNNI where the compile flags enable it).
template <class Arch, const auto& Plan>
class engine<backend::int8<backend::simd<Arch>>, Plan> {
 public:
  static constexpr bool quantized = true;
  static constexpr auto schedule = simd::detail::make_int8_schedule(Plan);

  explicit engine(int max_batch) : engine(max_batch, serial()) {}

  template <Executor E>
  engine(int max_batch, E& exec)
      : max_batch_(max_batch),
        sharing_(exec, schedule.step_count),
        // 64 bytes of slack: products read up to 3 bytes past a row, vectors a register past it.
        arena_(Plan.arena_floats * static_cast<std::size_t>(max_batch) + 64),
        input_(Plan.input_shape().size() * static_cast<std::size_t>(max_batch) + 64),
        output_(Plan.output_shape().size() * static_cast<std::size_t>(max_batch)),
        weights_(schedule.weight_bytes),
        scratch_(schedule.scratch_bytes * static_cast<std::size_t>(sharing_.threads())) {}

  /// Packs the network in int8 (quantization/quantize.hpp) for the kernels.
  void load(quantized_network q) {
    if (q.nodes.size() != Plan.nodes.size() || q.values.size() != Plan.values.size()) {
      throw error("the int8 network does not match the plan");
    }
    q_ = std::move(q);
    for (std::size_t i = 0; i < Plan.nodes.size(); ++i) {
      const node& n = Plan.nodes[i];
      if (!has_weights(n.kind())) continue;
      const simd::int8_packing& pk = schedule.packs[i];
      simd::pack_int8_weights(n.spec, pk, q_.nodes[i], {weights_.data() + pk.offset, pk.bytes});
    }
  }

  /// Runs `batch` images and returns a view of the dequantized output.
  tensor_view<const float> run(const float* images, int batch) {
    if (batch < 1 || batch > max_batch_) {
      throw error("batch of " + std::to_string(batch) + " images, the engine was built for 1 to " +
                  std::to_string(max_batch_));
    }
    if (q_.nodes.empty()) throw error("the int8 engine has no weights: load them first");
    const quant_params& entry = q_.values[static_cast<std::size_t>(Plan.input_value)];
    const std::size_t in_size = Plan.input_shape().size() * static_cast<std::size_t>(batch);
    for (std::size_t i = 0; i < in_size; ++i) input_.data()[i] = quantize(images[i], entry);
    for (int k = 0; k < schedule.step_count; ++k) {
      const simd::step& st = schedule.steps[static_cast<std::size_t>(k)];
      switch (sharing_.choose(st, batch, false)) {
        case simd::sharing::calling_thread:
        case simd::sharing::hidden_channels:
          run_step(st, batch, 0, batch, 0, 1, 0);
          break;
        case simd::sharing::images:
          sharing_.for_images(batch,
                              [&](int t, int n0, int n1) { run_step(st, batch, n0, n1, 0, 1, t); });
          break;
        case simd::sharing::rows:
          sharing_.for_learned_shares(k, [&](int t, const simd::row_balance& balance) {
            return run_step(st, batch, 0, batch, t, sharing_.threads(), t, &balance, k);
          });
          break;
      }
    }
    const tensor_view<const std::uint8_t> out = view(Plan.output_value, batch);
    const quant_params& op = q_.values[static_cast<std::size_t>(Plan.output_value)];
    std::size_t i = 0;
    for (int n = 0; n < out.batch; ++n)
      for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x)
          for (int c = 0; c < out.channels; ++c) output_[i++] = dequantize(out(n, y, x, c), op);
    const shape s = Plan.output_shape();
    return {output_.data(), batch, s.height, s.width, s.channels, s.channels};
  }

  int max_batch() const { return max_batch_; }
  int threads() const { return sharing_.threads(); }

 private:
  static inline_executor& serial() {
    static inline_executor one;
    return one;
  }

  tensor_view<std::uint8_t> view(int v, int batch) {
    return Plan.view(v, arena_.data(), static_cast<const std::uint8_t*>(input_.data()), batch);
  }

  // Step `st` on images [n0, n1), part `part` of `parts` of its rows (a dense layer: its blocks
  // of 16 output channels), as `balance` shares them; returns how many it ran.
  int run_step(const simd::step& st, int batch, int n0, int n1, int part, int parts, int thread,
               const simd::row_balance* balance = nullptr, int k = 0) {
    const node& n = Plan.nodes[static_cast<std::size_t>(st.node)];
    const simd::int8_packing& pk = schedule.packs[static_cast<std::size_t>(st.node)];
    const tensor_view<std::uint8_t> out = view(n.output, batch);
    const bool dense = n.kind() == op::dense;
    const int total = dense ? pk.gemm.blocks() : (n1 - n0) * out.height;
    const auto mine = balance != nullptr ? balance->share(k, total, part)
                                         : simd::detail::split(total, part, parts);
    const int rows0 = dense ? 0 : n0 * out.height;
    std::array<tensor_view<const std::uint8_t>, max_node_inputs> inputs{};
    for (int i = 0; i < n.input_count; ++i) {
      inputs[static_cast<std::size_t>(i)] = view(n.inputs[static_cast<std::size_t>(i)], batch);
    }
    const simd::int8_kernel_args args{
        .n = n,
        .q = q_.nodes[static_cast<std::size_t>(st.node)],
        .inputs = {inputs.data(), static_cast<std::size_t>(n.input_count)},
        .output = out,
        .residual = n.residual < 0 ? tensor_view<const std::uint8_t>{}
                                   : tensor_view<const std::uint8_t>(view(n.residual, batch)),
        .packed = weights_.data() + pk.offset,
        .pack = pk,
        .channel_step = 1,
        .first = rows0 + mine.begin,
        .last = rows0 + mine.end,
        .image_begin = n0,
        .image_end = n1,
        .scratch = scratch_.data() + schedule.scratch_bytes * static_cast<std::size_t>(thread)};
    with_kernel<backend::int8<backend::simd<Arch>>>(
        n.kind(), [&](auto kernel) { decltype(kernel)::run(args); });
    return mine.end - mine.begin;
  }

  int max_batch_;
  simd::work_sharing sharing_;
  basic_aligned_buffer<std::uint8_t> arena_;
  basic_aligned_buffer<std::uint8_t> input_;
  std::vector<float> output_;
  basic_aligned_buffer<std::byte> weights_;
  basic_aligned_buffer<std::uint8_t> scratch_;
  quantized_network q_;
};

}  // namespace lmnet
