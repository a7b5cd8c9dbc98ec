// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/core/executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lmnet {

namespace detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Waits until `value` differs from `old` and returns it: spins for at most `spin` (a new task
/// usually follows within microseconds while a network runs), then sleeps in the kernel.
template <class T>
T wait_for_change(const std::atomic<T>& value, T old, std::chrono::microseconds spin) {
  T now = value.load(std::memory_order_acquire);
  if (now != old || spin.count() <= 0) {
    while (now == old) {
      value.wait(old, std::memory_order_acquire);
      now = value.load(std::memory_order_acquire);
    }
    return now;
  }
  const auto deadline = std::chrono::steady_clock::now() + spin;
  for (int i = 1; now == old; ++i) {
    cpu_relax();
    now = value.load(std::memory_order_acquire);
    if (now == old && i % 64 == 0 && std::chrono::steady_clock::now() > deadline) {
      while (now == old) {
        value.wait(old, std::memory_order_acquire);
        now = value.load(std::memory_order_acquire);
      }
    }
  }
  return now;
}

}  // namespace detail

/// The default executor: `threads` threads run a parallel_for, the calling thread and
/// threads - 1 workers. Idle workers sleep in the kernel (a futex wait); after a task they spin
/// for at most `spin` before sleeping, so the next parallel_for of the same inference starts
/// without a wake-up, and an idle pool costs no CPU. One parallel_for runs at a time; concurrent
/// callers wait their turn. Tasks must not throw.
class thread_pool {
 public:
  explicit thread_pool(int threads, std::chrono::microseconds spin = std::chrono::microseconds{100})
      : spin_(spin) {
    if (threads < 1)
      throw error("thread_pool needs at least 1 thread, got " + std::to_string(threads));
    workers_.reserve(static_cast<std::size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int concurrency() const { return static_cast<int>(workers_.size()) + 1; }

  void parallel_for(int count, task_ref task) {
    if (count <= 0) return;
    if (workers_.empty() || count == 1) {
      for (int i = 0; i < count; ++i) task(i);
      return;
    }
    const std::lock_guard<std::mutex> lock(call_);
    task_ = &task;
    count_ = count;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    run_tasks();
    // Every worker reports once per generation, so none can still be reading this call's task.
    for (int left = pending_.load(std::memory_order_acquire); left != 0;
         left = pending_.load(std::memory_order_acquire)) {
      detail::wait_for_change(pending_, left, spin_);
    }
  }

 private:
  void run_tasks() {
    for (int i = next_.fetch_add(1, std::memory_order_relaxed); i < count_;
         i = next_.fetch_add(1, std::memory_order_relaxed)) {
      (*task_)(i);
    }
  }

  void work() {
    std::uint32_t seen = 0;
    for (;;) {
      seen = detail::wait_for_change(generation_, seen, spin_);
      if (stop_.load(std::memory_order_relaxed)) return;
      run_tasks();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
  std::mutex call_;
  const task_ref* task_ = nullptr;
  int count_ = 0;
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<int> next_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace lmnet
