// SPDX-License-Identifier: Apache-2.0
// The executor concept, the inline executor and the default thread pool: every task runs once,
// tasks run concurrently, concurrent callers are served one after another, a worker that cannot
// run (stopped by a signal, as a core the host takes away) does not hold up the caller, and an
// idle pool sleeps instead of spinning.
#include <lmnet/core/executor.hpp>
#include <lmnet/core/thread_pool.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <sys/resource.h>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <csignal>
#include <ctime>
#include <sys/syscall.h>
#include <unistd.h>
#endif

using namespace lmnet;

static_assert(Executor<thread_pool>);
static_assert(Executor<inline_executor>);
static_assert(Executor<executor_ref>);
static_assert(!Executor<int>);

namespace {

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](timeval t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

TEST_CASE("thread_pool: every index runs exactly once") {
  for (int threads = 1; threads <= 4; ++threads) {
    thread_pool pool(threads);
    CHECK(pool.concurrency() == threads);
    for (int count : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(count));
      for (int round = 0; round < 20; ++round) {
        pool.parallel_for(count, [&](int i) { hits[static_cast<std::size_t>(i)].fetch_add(1); });
      }
      for (const auto& h : hits) CHECK(h.load() == 20);
    }
  }
}

// Each call's task lives on the caller's stack and dies when the call returns; a worker that woke
// late must claim nothing from a call that has ended (ASan and TSan builds catch a stale call).
TEST_CASE("thread_pool: calls end cleanly while workers come and go") {
  for (int threads : {2, 3}) {
    for (auto spin : {std::chrono::microseconds{0}, std::chrono::microseconds{100}}) {
      thread_pool pool(threads, spin);
      long total = 0;
      for (int call = 0; call < 3000; ++call) {
        const int count = 2 + call % 5;
        std::vector<int> ran(static_cast<std::size_t>(count), 0);
        pool.parallel_for(count, [&ran](int i) { ran[static_cast<std::size_t>(i)] += 1; });
        for (int r : ran) total += r;
      }
      long expected = 0;
      for (int call = 0; call < 3000; ++call) expected += 2 + call % 5;
      CHECK(total == expected);
    }
  }
}

#if defined(__linux__) && !defined(__SANITIZE_THREAD__)
namespace {

// A worker stopped by a signal stands for one whose core the host has taken away.
std::atomic<bool> worker_held{false};
std::atomic<bool> worker_stopped{false};

void hold_worker(int) {
  worker_stopped.store(true);
  const timespec pause{0, 1000000};
  while (worker_held.load()) nanosleep(&pause, nullptr);
  worker_stopped.store(false);
}

}  // namespace

TEST_CASE("thread_pool: a worker that cannot run does not hold up the caller") {
  thread_pool pool(2);
  // Find the worker's thread id: a task that runs off the calling thread.
  const auto caller = static_cast<long>(syscall(SYS_gettid));
  std::atomic<long> worker{0};
  for (int attempt = 0; attempt < 1000 && worker.load() == 0; ++attempt) {
    std::atomic<int> started{0};
    pool.parallel_for(2, [&](int) {
      started.fetch_add(1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
      while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      const auto self = static_cast<long>(syscall(SYS_gettid));
      if (self != caller) worker.store(self);
    });
  }
  REQUIRE(worker.load() != 0);

  struct sigaction action {};
  action.sa_handler = hold_worker;
  sigemptyset(&action.sa_mask);
  struct sigaction previous {};
  REQUIRE(sigaction(SIGUSR1, &action, &previous) == 0);
  worker_held.store(true);
  REQUIRE(syscall(SYS_tgkill, getpid(), worker.load(), SIGUSR1) == 0);
  while (!worker_stopped.load()) std::this_thread::yield();

  // Let the worker go after 10 s whatever happens, so a pool that waits for it fails the
  // check below instead of hanging the test.
  std::thread watchdog([] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (worker_held.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    worker_held.store(false);
  });
  const auto start = std::chrono::steady_clock::now();
  long total = 0;
  for (int call = 0; call < 200; ++call) {
    pool.parallel_for(4, [&total](int i) { total += i; });  // the caller alone runs them
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool still_held = worker_held.load();
  worker_held.store(false);
  watchdog.join();
  while (worker_stopped.load()) std::this_thread::yield();
  sigaction(SIGUSR1, &previous, nullptr);

  CHECK(total == 200L * 6);
  CHECK(still_held);  // every call returned while the worker was stopped
  CHECK(seconds < 5.0);
}
#endif

TEST_CASE("thread_pool: tasks run on several threads at once") {
  thread_pool pool(3);
  std::atomic<int> started{0};
  std::atomic<bool> overlapped{false};
  std::set<std::thread::id> ids;
  std::mutex ids_mutex;
  pool.parallel_for(3, [&](int) {
    {
      const std::lock_guard<std::mutex> lock(ids_mutex);
      ids.insert(std::this_thread::get_id());
    }
    started.fetch_add(1);
    // Wait (bounded) for another task to start: only possible if two run at the same time.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    if (started.load() >= 2) overlapped = true;
  });
  CHECK(overlapped.load());
  CHECK(ids.size() >= 2);
}

TEST_CASE("thread_pool: concurrent callers take turns") {
  thread_pool pool(2);
  std::atomic<long> total{0};
  auto caller = [&] {
    for (int round = 0; round < 200; ++round) {
      pool.parallel_for(5, [&](int i) { total.fetch_add(i + 1); });
    }
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  CHECK(total.load() == 2L * 200 * 15);
}

TEST_CASE("thread_pool: an idle pool sleeps") {
  thread_pool pool(3, std::chrono::microseconds{200});
  pool.parallel_for(8, [](int) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the spin window has passed
  const double before = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double idle = cpu_seconds() - before;
  // Two spinning workers would burn about 0.6 s of CPU here.
  CHECK(idle < 0.05);
}

TEST_CASE("executors: inline runs in order on the caller, errors are clear") {
  inline_executor serial;
  std::vector<int> order;
  executor_ref ref(serial);
  CHECK(ref.concurrency() == 1);
  const std::thread::id caller = std::this_thread::get_id();
  bool elsewhere = false;
  ref.parallel_for(4, [&](int i) {
    order.push_back(i);
    elsewhere = elsewhere || std::this_thread::get_id() != caller;
  });
  CHECK(!elsewhere);
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  CHECK_THROWS_WITH_AS(thread_pool(0), "lmnet: thread_pool needs at least 1 thread, got 0",
                       lmnet::error);
}
