// SPDX-License-Identifier: Apache-2.0
// The simd backend in int8: the input quantized on entry, uint8 tensors in the arena of the fp32
// schedule (simd/schedule.hpp: its steps, fused blocks and shuffle folding), each layer by its
// kernel<backend::int8<backend::simd<Arch>>, op>, each fused block by run_int8_fused_block, shared
// among threads as the fp32 engine shares its steps, the output dequantized on exit.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/engine.hpp>
#include <lmnet/backend/simd/int8/channel_shuffle.hpp>
#include <lmnet/backend/simd/int8/fused_block.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/simd/int8/kernels.hpp>
#include <lmnet/backend/simd/int8/packing.hpp>
#include <lmnet/backend/simd/int8/quantize.hpp>
#include <lmnet/backend/simd/schedule.hpp>
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

// Each node's int8 packing and where it lies in the packed bytes.
template <class Plan>
constexpr auto int8_packs(const Plan& p) {
  struct result {
    std::array<int8_packing, Plan::node_count> packs{};
    std::size_t bytes = 0;
  } r;
  for (std::size_t i = 0; i < Plan::node_count; ++i) {
    r.packs[i] = int8_packing_for(p.nodes[i].spec);
    r.packs[i].offset = r.bytes;
    r.bytes += r.packs[i].bytes;
  }
  return r;
}

}  // namespace simd::detail

/// Runs a plan in int8 with the simd kernels for `Arch` (VNNI where the compile flags enable it):
/// the steps, fused blocks and arena of the fp32 schedule (its offsets in bytes), each step shared
/// among threads as in fp32.
template <class Arch, const auto& Plan>
class engine<backend::int8<backend::simd<Arch>>, Plan> {
  // 16-element pitches: the fp32 schedule's layout for AVX-512, in bytes here.
  static constexpr int pitch = 16;

 public:
  static constexpr bool quantized = true;
  static constexpr auto schedule =
      simd::make_schedule<pitch, 32, simd::fused_block_count(Plan, pitch)>(Plan);
  static constexpr auto packing = simd::detail::int8_packs(Plan);
  static_assert(simd::detail::largest_depthwise_kernel(Plan) <= simd::int8_max_depthwise_kernel,
                "lmnet: the int8 simd backend runs depthwise kernels of up to 16 rows");

  explicit engine(int max_batch) : engine(max_batch, serial()) {}

  template <Executor E>
  engine(int max_batch, E& exec)
      : max_batch_(max_batch),
        sharing_(exec, schedule.step_count),
        // 64 bytes of slack: products read up to 3 bytes past a row.
        arena_(schedule.arena_floats * static_cast<std::size_t>(max_batch) + 64),
        input_(Plan.input_shape().size() * static_cast<std::size_t>(max_batch) + 64),
        output_(Plan.output_shape().size() * static_cast<std::size_t>(max_batch)),
        weights_(packing.bytes),
        scratch_(scratch_bytes * static_cast<std::size_t>(sharing_.threads())) {}

  /// Packs the network in int8 (quantization/quantize.hpp) for the kernels.
  void load(quantized_network q) {
    if (q.nodes.size() != Plan.nodes.size() || q.values.size() != Plan.values.size()) {
      throw error("the int8 network does not match the plan");
    }
    q_ = std::move(q);
    for (std::size_t i = 0; i < Plan.nodes.size(); ++i) {
      const node& n = Plan.nodes[i];
      if (!has_weights(n.kind())) continue;
      const simd::int8_packing& pk = packing.packs[i];
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
    simd::quantize_values<Arch>(images, input_.data(), in_size, entry);
    for (int k = 0; k < schedule.step_count; ++k) {
      const simd::step& st = schedule.steps[static_cast<std::size_t>(k)];
      // Blocks are shared by rows only: int8 sums are not split by hidden channels.
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
  // Per thread: the fp32 schedule's scratch (its fused blocks' rings, in bytes) or the int8
  // layers' own, whichever is larger, and 64 bytes of slack before the next thread's, for
  // products reading past a row.
  static constexpr std::size_t scratch_bytes = [] {
    std::size_t most = schedule.scratch_floats;
    for (const node& n : Plan.nodes) {
      if (n.kind() == op::conv2d) most = std::max(most, simd::int8_conv2d_scratch_bytes(n.spec));
      if (n.kind() == op::dense) most = std::max(most, simd::int8_dense_scratch_bytes(n.spec));
    }
    return simd::round_up_64(most) + 64;
  }();

  static inline_executor& serial() {
    static inline_executor one;
    return one;
  }

  tensor_view<std::uint8_t> view(int v, int batch) {
    return Plan.view(v, arena_.data(), static_cast<const std::uint8_t*>(input_.data()), batch,
                     schedule.offsets);
  }
  tensor_view<const std::uint8_t> view_or_none(int v, int batch) {
    return v < 0 ? tensor_view<const std::uint8_t>{}
                 : tensor_view<const std::uint8_t>(view(v, batch));
  }
  std::uint8_t* scratch(int thread) {
    return scratch_.data() + scratch_bytes * static_cast<std::size_t>(thread);
  }

  // Step `st` on images [n0, n1), part `part` of `parts` of its rows (a dense layer: its blocks
  // of 16 output channels), as `balance` shares them; returns how many it ran.
  int run_step(const simd::step& st, int batch, int n0, int n1, int part, int parts, int thread,
               const simd::row_balance* balance = nullptr, int k = 0) {
    const node& n = Plan.nodes[static_cast<std::size_t>(st.node)];
    tensor_view<std::uint8_t> out = view(n.output, batch);
    if (st.write >= 0) {  // straight into a channel shuffle's output (step::write)
      const tensor_view<std::uint8_t> target = view(st.write, batch);
      const shape own =
          st.kind == simd::step_kind::strided_copy ? Plan.value_at(st.source).image : n.spec.output;
      out = {target.data + st.channel_offset,
             target.batch,
             own.height,
             own.width,
             own.channels,
             target.channel_stride};
    }
    const bool dense = st.kind == simd::step_kind::layer && n.kind() == op::dense;
    const simd::int8_packing& pk = packing.packs[static_cast<std::size_t>(st.node)];
    const int total = dense ? pk.gemm.blocks() : (n1 - n0) * out.height;
    const auto mine = balance != nullptr ? balance->share(k, total, part)
                                         : simd::detail::split(total, part, parts);
    const int rows0 = dense ? 0 : n0 * out.height;
    const int q0 = rows0 + mine.begin, q1 = rows0 + mine.end;
    switch (st.kind) {
      case simd::step_kind::layer:
        run_layer(st, n, out, batch, n0, n1, q0, q1, thread);
        break;
      case simd::step_kind::strided_copy:
        simd::int8_strided_copy(view(st.source, batch), out, st.channel_step, q0, q1);
        break;
      case simd::step_kind::fused_block:
        run_fused_rows(st, n, out, batch, q0, q1, thread);
        break;
    }
    return mine.end - mine.begin;
  }

  void run_layer(const simd::step& st, const node& n, tensor_view<std::uint8_t> out, int batch,
                 int n0, int n1, int q0, int q1, int thread) {
    std::array<tensor_view<const std::uint8_t>, max_node_inputs> inputs{};
    for (int i = 0; i < n.input_count; ++i) {
      inputs[static_cast<std::size_t>(i)] = view(n.inputs[static_cast<std::size_t>(i)], batch);
    }
    const simd::int8_packing& pk = packing.packs[static_cast<std::size_t>(st.node)];
    const simd::int8_kernel_args args{
        .n = n,
        .q = q_.nodes[static_cast<std::size_t>(st.node)],
        .inputs = {inputs.data(), static_cast<std::size_t>(n.input_count)},
        .output = out,
        .residual = view_or_none(n.residual, batch),
        .packed = weights_.data() + pk.offset,
        .pack = pk,
        .channel_step = st.channel_step,
        .first = q0,
        .last = q1,
        .image_begin = n0,
        .image_end = n1,
        .scratch = scratch(thread)};
    with_kernel<backend::int8<backend::simd<Arch>>, Plan>(
        n.kind(), [&](auto kernel) { run_kernel<decltype(kernel)>(args); });
  }

  // Output rows [q0, q1) of the batch of fused block step `st`, image by image.
  void run_fused_rows(const simd::step& st, const node& proj, tensor_view<std::uint8_t> out,
                      int batch, int q0, int q1, int thread) {
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
    const tensor_view<const std::uint8_t> x = view(f.input, batch);
    const tensor_view<const std::uint8_t> residual = view_or_none(proj.residual, batch);
    for (int q = q0; q < q1;) {
      const int image = q / out.height, y = q % out.height;
      const int y1 = std::min(out.height, y + (q1 - q));
      simd::run_int8_fused_block<Arch>(f, Plan.nodes.data(), q_.nodes.data(), packing.packs.data(),
                                       weights_.data(), x, out, residual, image, y, y1,
                                       scratch(thread), st.channel_step);
      q += y1 - y;
    }
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
