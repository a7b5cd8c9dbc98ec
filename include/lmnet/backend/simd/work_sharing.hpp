// SPDX-License-Identifier: Apache-2.0
// The simd engine's thread policy: how each step's work is shared among the executor's threads,
// and the shares learned from how fast each thread finished.
#pragma once

#include <lmnet/backend/simd/row_balance.hpp>
#include <lmnet/backend/simd/step.hpp>
#include <lmnet/core/executor.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace lmnet::simd {

/// How one step's work is shared out.
enum class sharing : std::uint8_t {
  calling_thread,   // one thread, or too little work to gain from more
  images,           // a batch of at least one image per thread: image by image, equal shares
  rows,             // output rows (a dense layer's register blocks), in learned shares
  hidden_channels,  // a fused block of few rows: its hidden channels, in learned shares
};

/// Runs the parts of steps on an executor (the caller's, which must outlive it). Tensors share
/// arena memory when their lifetimes do not overlap, so every part of a step finishes before any
/// part of the next starts: each step is one parallel_for.
class work_sharing {
 public:
  template <Executor E>
  work_sharing(E& exec, int steps)
      : executor_(exec),
        threads_(std::max(1, static_cast<int>(exec.concurrency()))),
        balance_(steps, threads_) {}

  int threads() const { return threads_; }
  /// How each step's rows are currently shared among the threads (see row_balance).
  const row_balance& shares() const { return balance_; }

  /// The sharing of step `st` for a batch of `batch`. `few_rows_block`: a fused block that may
  /// share its hidden channels (fused_block::splits_channels) and has fewer than eight output
  /// rows per thread, too few to cut evenly by rows.
  sharing choose(const step& st, int batch, bool few_rows_block) const {
    const bool by_image = batch >= threads_;
    if (threads_ == 1 || !(by_image || st.parallel)) return sharing::calling_thread;
    if (by_image) return sharing::images;
    if (few_rows_block && batch == 1 && st.write < 0) return sharing::hidden_channels;
    return sharing::rows;
  }
  /// Output rows per thread below which a fused block shares its hidden channels instead.
  static constexpr int channel_share_rows = 8;

  /// part(thread, first_image, end_image) for every thread's equal share of `batch` images.
  template <class F>
  void for_images(int batch, F&& part) {
    executor_.parallel_for(threads_, [&](int t) {
      const auto mine = detail::split(batch, t, threads_);
      if (mine.begin < mine.end) part(t, mine.begin, mine.end);
    });
  }

  /// part(thread, balance) on every thread for step number `k`, where the part takes its share
  /// of the step as `balance.share(k, total, thread)` and returns how much it ran; each part's
  /// rate (what it ran over the time from the step's start to its end) is the lesson the shares
  /// learn for the next inference.
  template <class F>
  void for_learned_shares(int k, F&& part) {
    const auto start = std::chrono::steady_clock::now();
    executor_.parallel_for(threads_, [&](int t) {
      const int amount = part(t, static_cast<const row_balance&>(balance_));
      balance_.record(
          t, amount,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    });
    balance_.update(k);
  }

 private:
  executor_ref executor_;
  int threads_;
  row_balance balance_;
};

}  // namespace lmnet::simd
