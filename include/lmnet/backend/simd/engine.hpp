// SPDX-License-Identifier: Apache-2.0
// The simd backend's engine: packs the weights, and runs the schedule's steps (schedule.hpp) one
// after another, each shared among threads as work_sharing.hpp decides.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/channel_shuffle.hpp>
#include <lmnet/backend/simd/fused_block_kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/kernels.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/backend/simd/schedule.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/simd/work_sharing.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/aligned_buffer.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/core/executor.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

namespace simd::detail {

template <class Plan>
constexpr int largest_depthwise_kernel(const Plan& p) {
  int k = 0;
  for (const node& n : p.nodes) {
    if (n.kind() == op::depthwise_conv2d) k = std::max(k, n.spec.kernel.height);
  }
  return k;
}

}  // namespace simd::detail

/// Runs a plan with xsimd kernels for `Arch`: weights packed at load time into each kernel's
/// layout, bottleneck blocks fused (unless `Options` says not to), work shared out by an executor
/// (the caller's, or none: one thread). Nothing is allocated after construction.
///
///     lmnet::thread_pool pool(2);
///     lmnet::model<net, lmnet::backend::simd<>> m(1, pool);   // batch 1 on two threads
template <class Arch, backend::simd_options Options, const auto& Plan>
class engine<backend::simd<Arch, Options>, Plan> {
  using vector = simd::vector<Arch>;
  static constexpr std::size_t fused_blocks =
      Options.fuse_blocks ? simd::fused_block_count(Plan, vector::width) : 0;

 public:
  static constexpr auto schedule =
      simd::make_schedule<vector::width, vector::registers, fused_blocks>(Plan,
                                                                          Options.fuse_blocks);
  static_assert(simd::detail::largest_depthwise_kernel(Plan) <= simd::max_depthwise_kernel,
                "lmnet: the simd backend runs depthwise kernels of up to 64 rows");

  /// Runs on the calling thread.
  explicit engine(int max_batch) : engine(max_batch, serial()) {}

  /// Runs on `exec`, which must outlive the engine; a batch of at least `exec.concurrency()`
  /// images is shared out image by image, a smaller one row by row inside each layer (layers too
  /// small to gain from it run on the calling thread).
  template <Executor E>
  engine(int max_batch, E& exec)
      : max_batch_(max_batch),
        sharing_(exec, schedule.step_count),
        arena_(schedule.arena_floats * static_cast<std::size_t>(max_batch)),
        weights_(schedule.weight_floats),
        scratch_(schedule.scratch_floats * static_cast<std::size_t>(sharing_.threads())),
        partials_(static_cast<std::size_t>(sharing_.threads())) {}

  /// Packs the canonical folded weights (io/bind.hpp) into each kernel's layout.
  void load(std::span<const float> folded) {
    if (folded.size() < Plan.weight_floats) {
      throw error("folded weights hold " + std::to_string(folded.size()) +
                  " floats, the network needs " + std::to_string(Plan.weight_floats));
    }
    for (std::size_t i = 0; i < Plan.nodes.size(); ++i) {
      const node& n = Plan.nodes[i];
      if (!has_weights(n.kind())) continue;
      const simd::packing& pk = schedule.packs[i];
      simd::pack_weights(n.spec, pk, folded.data() + n.weight_offset, folded.data() + n.bias_offset,
                         {weights_.data() + pk.offset, pk.floats});
    }
  }

  /// Runs `batch` images and returns a view of the output in the arena; `observer` is told when
  /// each step of the schedule begins and ends, on the calling thread.
  template <StepObserver Observer = no_step_observer>
  tensor_view<const float> run(const float* images, int batch, Observer&& observer = {}) {
    if (batch < 1 || batch > max_batch_) {
      throw error("batch of " + std::to_string(batch) + " images, the engine was built for 1 to " +
                  std::to_string(max_batch_));
    }
    const context ctx{this, images, batch};
    for (int k = 0; k < schedule.step_count; ++k) {
      const simd::step& st = schedule.steps[static_cast<std::size_t>(k)];
      observer.step_begins(k);
      switch (sharing_.choose(st, batch, few_rows_block(st))) {
        case simd::sharing::calling_thread:
          run_step(ctx, st, 0, batch, 0, 1, 0);
          break;
        case simd::sharing::images:
          sharing_.for_images(batch,
                              [&](int t, int n0, int n1) { run_step(ctx, st, n0, n1, 0, 1, t); });
          break;
        case simd::sharing::rows:
          sharing_.for_learned_shares(k, [&](int t, const simd::row_balance& balance) {
            return run_step(ctx, st, 0, batch, t, sharing_.threads(), t, &balance, k);
          });
          break;
        case simd::sharing::hidden_channels:
          run_channel_shares(ctx, st, k);
          break;
      }
      observer.step_ends(k);
    }
    return ctx.view(Plan.output_value);
  }

  int max_batch() const { return max_batch_; }
  int threads() const { return sharing_.threads(); }
  /// How each step's rows are currently shared among the threads (learned; see row_balance).
  const simd::row_balance& row_shares() const { return sharing_.shares(); }

  /// The steps `run` takes, and what each runs (for lmnet::profile).
  static constexpr int step_count() { return schedule.step_count; }
  static constexpr engine_step describe_step(int k) {
    const simd::step& st = schedule.steps[static_cast<std::size_t>(k)];
    const node& n = Plan.nodes[static_cast<std::size_t>(st.node)];
    switch (st.kind) {
      case simd::step_kind::fused_block: {
        const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
        return {engine_step::kind::fused_block, f.first, f.project,
                f.expand_is_conv ? f.expand : -1, n.spec.output};
      }
      case simd::step_kind::strided_copy:
        return {engine_step::kind::strided_copy, st.node, st.node, -1,
                Plan.value_at(st.source).image};
      case simd::step_kind::layer:
        break;
    }
    return {engine_step::kind::layer, st.node, st.node, -1, n.spec.output};
  }

 private:
  static inline_executor& serial() {
    static inline_executor one;
    return one;
  }

  struct context {
    engine* self;
    const float* images;  // the caller's batch: the network input
    int batch;

    tensor_view<float> view(int v) const {
      return Plan.view(v, self->arena_.data(), images, batch, schedule.offsets);
    }
    tensor_view<const float> view_or_none(int v) const {
      return v < 0 ? tensor_view<const float>{} : tensor_view<const float>(view(v));
    }
    const float* packed(int node) const {
      return self->weights_.data() + schedule.packs[static_cast<std::size_t>(node)].offset;
    }
    float* scratch(int thread) const {
      return self->scratch_.data() + schedule.scratch_floats * static_cast<std::size_t>(thread);
    }
  };

  // A fused block that may share out its hidden channels, with too few output rows per thread
  // to share out its rows evenly.
  bool few_rows_block(const simd::step& st) const {
    if (st.kind != simd::step_kind::fused_block) return false;
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
    return f.splits_channels && Plan.nodes[static_cast<std::size_t>(f.project)].spec.output.height <
                                    simd::work_sharing::channel_share_rows * sharing_.threads();
  }

  // Fused block step `st` (step number k) of one image, its hidden channels shared out as
  // learned (in the expansion's register blocks); the calling thread then adds the other parts'
  // sums to the first's.
  void run_channel_shares(const context& ctx, const simd::step& st, int k) {
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
    const node& proj = Plan.nodes[static_cast<std::size_t>(f.project)];
    const int blocks = schedule.packs[static_cast<std::size_t>(f.expand)].gemm.blocks();
    const tensor_view<const float> x = ctx.view(f.input);
    const tensor_view<float> out = ctx.view(proj.output);
    const tensor_view<const float> residual = ctx.view_or_none(proj.residual);
    const int threads = sharing_.threads();
    sharing_.for_learned_shares(k, [&](int t, const simd::row_balance& balance) {
      const auto mine = balance.share(k, blocks, t);
      const simd::hidden_share share{mine.begin, mine.end,
                                     t == 0 ? nullptr : ctx.scratch(t) + f.partial_offset};
      simd::run_fused_block<Arch>(f, Plan.nodes.data(), schedule.packs.data(), weights_.data(), x,
                                  out, residual, 0, 0, out.height, ctx.scratch(t), &share);
      return mine.end - mine.begin;
    });
    for (int t = 1; t < threads; ++t) {
      partials_[static_cast<std::size_t>(t - 1)] = ctx.scratch(t) + f.partial_offset;
    }
    simd::add_partials<Arch>(out, 0, partials_.data(), threads - 1, f.partial_pitch, proj.spec.act,
                             0, out.height);
  }

  // Step `st` (step number k) on images [n0, n1), part `part` of `parts` of its work (its rows,
  // or a dense layer's register blocks, as `balance` shares them; equal shares without one),
  // with thread `thread`'s scratch. Returns how many rows (blocks) it ran.
  static int run_step(const context& ctx, const simd::step& st, int n0, int n1, int part, int parts,
                      int thread, const simd::row_balance* balance = nullptr, int k = 0) {
    const node& n = Plan.nodes[static_cast<std::size_t>(st.node)];
    tensor_view<float> out = ctx.view(n.output);
    if (st.write >= 0) {  // straight into a channel shuffle's output (step::write)
      const tensor_view<float> target = ctx.view(st.write);
      const shape own =
          st.kind == simd::step_kind::strided_copy ? Plan.value_at(st.source).image : n.spec.output;
      out = {target.data + st.channel_offset,
             target.batch,
             own.height,
             own.width,
             own.channels,
             target.channel_stride};
    }
    // This part's output rows (image, row), or for a dense layer its register blocks of output
    // channels.
    const bool dense = st.kind == simd::step_kind::layer && n.kind() == op::dense;
    const int total = dense ? simd::dense_blocks(schedule.packs[static_cast<std::size_t>(st.node)])
                            : (n1 - n0) * out.height;
    const auto mine = balance != nullptr ? balance->share(k, total, part)
                                         : simd::detail::split(total, part, parts);
    const int rows0 = dense ? 0 : n0 * out.height;
    const int q0 = rows0 + mine.begin, q1 = rows0 + mine.end;
    switch (st.kind) {
      case simd::step_kind::layer:
        run_layer(ctx, st, n, out, n0, n1, q0, q1, thread);
        break;
      case simd::step_kind::strided_copy:
        simd::strided_copy<Arch>(ctx.view(st.source), out, st.channel_step, q0, q1);
        break;
      case simd::step_kind::fused_block:
        run_fused_rows(ctx, st, n, out, q0, q1, thread);
        break;
    }
    return mine.end - mine.begin;
  }

  // Layer `n` through its kernel<backend::simd<Arch>, op> on output rows [q0, q1) (dense:
  // images [n0, n1), register blocks [q0, q1)).
  static void run_layer(const context& ctx, const simd::step& st, const node& n,
                        tensor_view<float> out, int n0, int n1, int q0, int q1, int thread) {
    std::array<tensor_view<const float>, max_node_inputs> inputs{};
    for (int i = 0; i < n.input_count; ++i) {
      inputs[static_cast<std::size_t>(i)] = ctx.view(n.inputs[static_cast<std::size_t>(i)]);
    }
    const simd::kernel_args args{.n = n,
                                 .inputs = {inputs.data(), static_cast<std::size_t>(n.input_count)},
                                 .output = out,
                                 .residual = ctx.view_or_none(n.residual),
                                 .packed = ctx.packed(st.node),
                                 .pack = schedule.packs[static_cast<std::size_t>(st.node)],
                                 .channel_step = st.channel_step,
                                 .first = q0,
                                 .last = q1,
                                 .image_begin = n0,
                                 .image_end = n1,
                                 .scratch = ctx.scratch(thread)};
    with_kernel<backend::simd<Arch>, Plan>(
        n.kind(), [&](auto kernel) { run_kernel<decltype(kernel)>(args); });
  }

  // Output rows [q0, q1) of the batch of fused block step `st`, image by image.
  static void run_fused_rows(const context& ctx, const simd::step& st, const node& proj,
                             tensor_view<float> out, int q0, int q1, int thread) {
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
    const tensor_view<const float> x = ctx.view(f.input);
    const tensor_view<const float> residual = ctx.view_or_none(proj.residual);
    for (int q = q0; q < q1;) {
      const int image = q / out.height, y = q % out.height;
      const int y1 = std::min(out.height, y + (q1 - q));
      simd::run_fused_block<Arch>(f, Plan.nodes.data(), schedule.packs.data(),
                                  ctx.self->weights_.data(), x, out, residual, image, y, y1,
                                  ctx.scratch(thread), nullptr, st.channel_step);
      q += y1 - y;
    }
  }

  int max_batch_;
  simd::work_sharing sharing_;
  aligned_buffer arena_;
  aligned_buffer weights_;
  aligned_buffer scratch_;
  std::vector<const float*> partials_;  // the partial sums of a block split by channels
};

}  // namespace lmnet
