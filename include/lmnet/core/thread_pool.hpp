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
///
/// Tasks are claimed, not assigned: a call returns once every task has run, and waits only for
/// tasks already started elsewhere, never for a worker that has not woken up yet. On a machine
/// whose cores are shared (a virtual machine whose host takes a core away for milliseconds), the
/// caller then runs the late worker's share itself instead of waiting for it.
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
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
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
    // Claims are closed while the task changes: a worker that saw this call's task or count
    // together with the last call's claims fails its claim (run_tasks).
    const std::uint64_t call = std::uint64_t{++call_number_} << 32;
    claims_.store(call | closed, std::memory_order_relaxed);
    task_.store(&task, std::memory_order_release);
    count_.store(count, std::memory_order_release);
    done_.store(0, std::memory_order_relaxed);
    claims_.store(call, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
    run_tasks();
    // Every task is claimed by now; wait for those that others started.
    for (int finished = done_.load(std::memory_order_acquire); finished != count;
         finished = done_.load(std::memory_order_acquire)) {
      detail::wait_for_change(done_, finished, spin_);
    }
  }

 private:
  // Claims and runs tasks of the current call until none is left. A claim is a compare-exchange
  // on (call number, next index), so a worker that read the task of a call that has since ended
  // fails to claim and never calls it: a call ends only once all of its claimed tasks are done.
  void run_tasks() {
    std::uint64_t claims = claims_.load(std::memory_order_acquire);
    for (;;) {
      const task_ref* task = task_.load(std::memory_order_acquire);
      const int count = count_.load(std::memory_order_acquire);
      const std::uint64_t index = claims & closed;
      if (index >= static_cast<std::uint64_t>(count)) return;
      if (!claims_.compare_exchange_weak(claims, claims + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
        continue;  // `claims` now holds the current value
      }
      (*task)(static_cast<int>(index));
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == count) done_.notify_one();
      claims = claims_.load(std::memory_order_acquire);
    }
  }

  void work() {
    std::uint32_t seen = 0;
    for (;;) {
      seen = detail::wait_for_change(wake_, seen, spin_);
      if (stop_.load(std::memory_order_relaxed)) return;
      run_tasks();
    }
  }

  static constexpr std::uint64_t closed = 0xFFFFFFFFu;  // an index past any count

  std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
  std::mutex call_;
  std::uint32_t call_number_ = 0;  // under call_
  std::atomic<const task_ref*> task_{nullptr};
  std::atomic<int> count_{0};
  std::atomic<std::uint64_t> claims_{0};  // call number << 32 | next index
  std::atomic<int> done_{0};              // tasks of the current call that have returned
  std::atomic<std::uint32_t> wake_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace lmnet
