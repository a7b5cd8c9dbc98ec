// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/channels.hpp>
#include <lmnet/backend/simd/conv2d.hpp>
#include <lmnet/backend/simd/dense.hpp>
#include <lmnet/backend/simd/depthwise.hpp>
#include <lmnet/backend/simd/elementwise.hpp>
#include <lmnet/backend/simd/fused_block.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/backend/simd/pointwise.hpp>
#include <lmnet/backend/simd/pooling.hpp>
#include <lmnet/backend/simd/row_balance.hpp>
#include <lmnet/backend/simd/schedule.hpp>
#include <lmnet/backend/simd/softmax.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/aligned_buffer.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/core/executor.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <algorithm>
#include <array>
#include <chrono>
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
/// layout, bottleneck blocks fused, work shared out by an executor (the caller's, or none: one
/// thread). Nothing is allocated after construction.
///
///     lmnet::thread_pool pool(2);
///     lmnet::model<net, lmnet::backend::simd<>> m(1, pool);   // batch 1 on two threads
template <class Arch, const auto& Plan>
class engine<backend::simd<Arch>, Plan> {
  using vector = simd::vector<Arch>;

 public:
  static constexpr auto schedule = simd::make_schedule<vector::width, vector::registers>(Plan);
  static_assert(simd::detail::largest_depthwise_kernel(Plan) <= simd::max_depthwise_kernel,
                "lmnet: the simd backend runs depthwise kernels of up to 64 rows");

  /// Runs on the calling thread.
  explicit engine(int max_batch) : engine(max_batch, serial()) {}

  /// Runs on `exec`, which must outlive the engine; a batch of at least `exec.concurrency()`
  /// images is shared out image by image, a smaller one row by row inside each layer (layers too
  /// small to gain from it run on the calling thread).
  template <executor E>
  engine(int max_batch, E& exec)
      : max_batch_(max_batch),
        executor_(exec),
        threads_(std::max(1, static_cast<int>(exec.concurrency()))),
        arena_(schedule.arena_floats * static_cast<std::size_t>(max_batch)),
        weights_(schedule.weight_floats),
        scratch_(schedule.scratch_floats * static_cast<std::size_t>(threads_)),
        balance_(schedule.step_count, threads_),
        partials_(static_cast<std::size_t>(threads_)) {}

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

  /// Runs `batch` images and returns a view of the output in the arena.
  tensor_view<const float> run(const float* images, int batch) {
    if (batch < 1 || batch > max_batch_) {
      throw error("batch of " + std::to_string(batch) + " images, the engine was built for 1 to " +
                  std::to_string(max_batch_));
    }
    const context ctx{this, images, batch};
    // Tensors share arena memory when their lifetimes do not overlap, so every image must finish
    // a step before any starts the next: each step is one parallel_for, split image by image
    // when there are enough images, row by row (or channel by channel) otherwise.
    const bool by_image = batch >= threads_;
    for (int k = 0; k < schedule.step_count; ++k) {
      const simd::step& st = schedule.steps[static_cast<std::size_t>(k)];
      if (threads_ == 1 || !(by_image || st.parallel)) {
        run_step(ctx, st, 0, batch, 0, 1, 0);
      } else if (!by_image && shares_channels(st, batch)) {
        run_channel_shares(ctx, st, k);
      } else if (by_image) {
        executor_.parallel_for(threads_, [&](int t) {
          const auto mine = simd::detail::split(batch, t, threads_);
          if (mine.begin < mine.end) run_step(ctx, st, mine.begin, mine.end, 0, 1, t);
        });
      } else {
        // Rows shared as balance_ learned; each part's rate (rows over the time from the
        // step's start to the part's end) is its lesson for the next inference.
        const auto start = std::chrono::steady_clock::now();
        executor_.parallel_for(threads_, [&](int t) {
          const int rows = run_step(ctx, st, 0, batch, t, threads_, t, &balance_, k);
          balance_.record(
              t, rows,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        });
        balance_.update(k);
      }
    }
    return ctx.view(Plan.output_value);
  }

  int max_batch() const { return max_batch_; }
  int threads() const { return threads_; }
  /// How each step's rows are currently shared among the threads (learned; see row_balance).
  const simd::row_balance& row_shares() const { return balance_; }

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
      const value& x = Plan.value_at(v);
      float* base = x.storage < 0 ? const_cast<float*>(images)
                                  : self->arena_.data() +
                                        schedule.offsets[static_cast<std::size_t>(x.storage)] *
                                            static_cast<std::size_t>(batch);
      return {base + x.channel_offset, batch, x.image.height, x.image.width, x.image.channels,
              Plan.channel_stride(v)};
    }
    const float* packed(int node) const {
      return self->weights_.data() + schedule.packs[static_cast<std::size_t>(node)].offset;
    }
    float* scratch(int thread) const {
      return self->scratch_.data() + schedule.scratch_floats * static_cast<std::size_t>(thread);
    }
  };

  // A fused block of one image with fewer rows per thread than this shares out its hidden
  // channels instead (fused_block::splits_channels).
  static constexpr int channel_share_rows = 8;

  bool shares_channels(const simd::step& st, int batch) const {
    if (st.kind != simd::step_kind::fused_block || batch != 1 || st.write >= 0) return false;
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
    return f.splits_channels && Plan.nodes[static_cast<std::size_t>(f.project)].spec.output.height <
                                    channel_share_rows * threads_;
  }

  // Fused block step `st` (step number k) of one image, its hidden channels shared out as
  // balance_ learned (in the expansion's register blocks); the calling thread then adds the
  // other parts' sums to the first's.
  void run_channel_shares(const context& ctx, const simd::step& st, int k) {
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
    const node& proj = Plan.nodes[static_cast<std::size_t>(f.project)];
    const int blocks = schedule.packs[static_cast<std::size_t>(f.expand)].gemm.blocks();
    const tensor_view<const float> x = ctx.view(f.input);
    const tensor_view<float> out = ctx.view(proj.output);
    const tensor_view<const float> residual =
        proj.residual >= 0 ? tensor_view<const float>(ctx.view(proj.residual))
                           : tensor_view<const float>{};
    const auto start = std::chrono::steady_clock::now();
    executor_.parallel_for(threads_, [&](int t) {
      const auto mine = balance_.share(k, blocks, t);
      const simd::hidden_share share{mine.begin, mine.end,
                                     t == 0 ? nullptr : ctx.scratch(t) + f.partial_offset};
      simd::run_fused_block<Arch>(f, Plan.nodes.data(), schedule.packs.data(), weights_.data(), x,
                                  out, residual, 0, 0, out.height, ctx.scratch(t), &share);
      balance_.record(
          t, mine.end - mine.begin,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    });
    balance_.update(k);
    for (int t = 1; t < threads_; ++t) {
      partials_[static_cast<std::size_t>(t - 1)] = ctx.scratch(t) + f.partial_offset;
    }
    simd::add_partials<Arch>(out, 0, partials_.data(), threads_ - 1, f.partial_pitch, proj.spec.act,
                             0, out.height);
  }

  // Step `st` (step number k) on images [n0, n1), part `part` of `parts` of its work (its rows,
  // or a dense layer's register blocks, as `balance` shares them; equal shares without one),
  // with thread `thread`'s scratch. Returns how many rows (blocks) it ran.
  static int run_step(const context& ctx, const simd::step& st, int n0, int n1, int part, int parts,
                      int thread, const simd::row_balance* balance = nullptr, int k = 0) {
    const node& n = Plan.nodes[static_cast<std::size_t>(st.node)];
    tensor_view<float> out = ctx.view(n.output);
    if (st.write >= 0) {  // straight into a channel shuffle's output (schedule.hpp, step::write)
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
    const tensor_view<const float> in = ctx.view(n.input());
    const tensor_view<const float> residual = n.residual >= 0
                                                  ? tensor_view<const float>(ctx.view(n.residual))
                                                  : tensor_view<const float>{};
    // This part's output rows (image, row), or for a dense layer its register blocks of output
    // channels.
    const bool dense = st.kind == simd::step_kind::dense;
    const int total = dense ? simd::dense_blocks(schedule.packs[static_cast<std::size_t>(st.node)])
                            : (n1 - n0) * out.height;
    const auto mine = balance != nullptr ? balance->share(k, total, part)
                                         : simd::detail::split(total, part, parts);
    const int rows0 = dense ? 0 : n0 * out.height;
    run_kernel(ctx, st, n, in, out, residual, n0, n1, rows0 + mine.begin, rows0 + mine.end, thread);
    return mine.end - mine.begin;
  }

  // The kernel of step `st` on output rows [q0, q1) (dense: images [n0, n1), register blocks
  // [q0, q1) of the output channels).
  static void run_kernel(const context& ctx, const simd::step& st, const node& n,
                         tensor_view<const float> in, tensor_view<float> out,
                         tensor_view<const float> residual, int n0, int n1, int q0, int q1,
                         int thread) {
    const simd::packing& pk = schedule.packs[static_cast<std::size_t>(st.node)];
    const float* packed = ctx.packed(st.node);
    switch (st.kind) {
      case simd::step_kind::pointwise:
        return simd::pointwise<Arch>(n.spec, in, out, residual, packed, pk, q0, q1,
                                     st.channel_step);
      case simd::step_kind::strided_copy:
        return simd::strided_copy<Arch>(ctx.view(st.source), out, st.channel_step, q0, q1);
      case simd::step_kind::depthwise:
        return simd::depthwise<Arch>(n.spec, in, out, residual, packed, q0, q1);
      case simd::step_kind::conv2d:
        return simd::conv2d<Arch>(n.spec, in, out, residual, packed, pk, q0, q1,
                                  ctx.scratch(thread));
      case simd::step_kind::dense:
        return simd::dense<Arch>(n.spec, in, out, packed, pk, n0, n1, q0, q1, ctx.scratch(thread));
      case simd::step_kind::max_pool2d:
        return simd::max_pool2d<Arch>(in, out, n.spec, q0, q1);
      case simd::step_kind::global_avg_pool:
        return simd::global_avg_pool<Arch>(in, out, q0, q1);  // one output row per image
      case simd::step_kind::add:
        return simd::add<Arch>(in, ctx.view(n.inputs[1]), out, n.spec.act, q0, q1);
      case simd::step_kind::activation:
        return simd::apply_activation<Arch>(in, out, n.spec.act, q0, q1);
      case simd::step_kind::concat: {
        std::array<tensor_view<const float>, max_node_inputs> inputs{};
        for (int k = 0; k < n.input_count; ++k) {
          inputs[static_cast<std::size_t>(k)] = ctx.view(n.inputs[static_cast<std::size_t>(k)]);
        }
        return simd::concat({inputs.data(), static_cast<std::size_t>(n.input_count)}, out, q0, q1);
      }
      case simd::step_kind::channel_shuffle:
        return simd::channel_shuffle(in, out, n.spec.groups, q0, q1);
      case simd::step_kind::softmax:
        return simd::softmax(in, out, q0, q1);
      case simd::step_kind::fused_block: {
        const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(st.block)];
        const tensor_view<const float> x = ctx.view(f.input);
        for (int q = q0; q < q1;) {
          const int image = q / out.height, y = q % out.height;
          const int y1 = std::min(out.height, y + (q1 - q));
          simd::run_fused_block<Arch>(f, Plan.nodes.data(), schedule.packs.data(),
                                      ctx.self->weights_.data(), x, out, residual, image, y, y1,
                                      ctx.scratch(thread));
          q += y1 - y;
        }
        return;
      }
    }
  }

  int max_batch_;
  executor_ref executor_;
  int threads_;
  aligned_buffer arena_;
  aligned_buffer weights_;
  aligned_buffer scratch_;
  simd::row_balance balance_;           // how split steps share their rows among threads
  std::vector<const float*> partials_;  // the partial sums of a block split by channels
};

}  // namespace lmnet
