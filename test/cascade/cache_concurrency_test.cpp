// SPDX-License-Identifier: Apache-2.0
// Eight threads hammering one result cache with lookups and insertions. Also built with
// ThreadSanitizer (test/cascade/tsan), which must report no race.
#include <lmnet/cascade/cache.hpp>
#include <lmnet/cascade/classifier.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using namespace lmnet;

namespace {

constexpr int threads = 8;

exact_key key_of(std::uint64_t i) {
  const std::uint64_t bytes[] = {i ^ 0x5555, i};
  return make_exact_key(std::as_bytes(std::span(bytes)));
}

// Every key has one value, so a corrupted or mixed-up entry shows as a wrong value.
prediction value_of(std::uint64_t i) {
  return {static_cast<std::int32_t>(i), static_cast<float>(i % 977) + 0.25f};
}

template <class Body>
void run_threads(Body body) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(body, t);
  for (auto& th : pool) th.join();
}

}  // namespace

TEST_CASE("8 threads inserting and looking up: no entry lost, none corrupted") {
  constexpr std::uint64_t keys_per_thread = 500, universe = threads * keys_per_thread / 2;
  result_cache<prediction> cache({.capacity = universe});
  std::atomic<int> wrong{0};
  std::atomic<std::uint64_t> finds{0};
  run_threads([&](int t) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(t));
    // Thread t inserts keys t*250 .. t*250 + 499: each key is inserted by two threads.
    for (std::uint64_t j = 0; j < keys_per_thread; ++j) {
      const std::uint64_t k = (static_cast<std::uint64_t>(t) * keys_per_thread / 2 + j) % universe;
      cache.insert(key_of(k), value_of(k));
      for (int probe = 0; probe < 4; ++probe) {
        const std::uint64_t q = rng() % universe;
        finds.fetch_add(1, std::memory_order_relaxed);
        if (const auto hit = cache.find(key_of(q)); hit && !(*hit == value_of(q))) ++wrong;
      }
    }
  });
  CHECK(wrong.load() == 0);
  CHECK(cache.size() == universe);
  for (std::uint64_t k = 0; k < universe; ++k) {
    const auto hit = cache.find(key_of(k));
    REQUIRE(hit.has_value());
    CHECK(*hit == value_of(k));
  }
  const cache_stats s = cache.stats();
  CHECK(s.lookups == finds.load() + universe);
  CHECK(s.hits + s.misses == s.lookups);
  CHECK(s.insertions == threads * keys_per_thread);
  CHECK(s.evictions == 0);
}

TEST_CASE("8 threads churning a small cache: it never exceeds its capacity and stays consistent") {
  constexpr std::size_t capacity = 128;
  result_cache<prediction> cache({.capacity = capacity});
  std::atomic<int> wrong{0}, oversize{0};
  std::atomic<bool> done{false};
  std::thread monitor([&] {
    while (!done.load()) {
      if (cache.size() > capacity) ++oversize;
      std::this_thread::yield();
    }
  });
  run_threads([&](int t) {
    std::mt19937_64 rng(100 + static_cast<std::uint64_t>(t));
    for (int step = 0; step < 4000; ++step) {
      const std::uint64_t k = rng() % 2000;
      if (step % 3 == 0) {
        cache.insert(key_of(k), value_of(k));
      } else if (const auto hit = cache.find(key_of(k)); hit && !(*hit == value_of(k))) {
        ++wrong;
      }
    }
  });
  done = true;
  monitor.join();
  CHECK(wrong.load() == 0);
  CHECK(oversize.load() == 0);
  CHECK(cache.size() == capacity);
  std::size_t findable = 0;
  for (std::uint64_t k = 0; k < 2000; ++k) findable += cache.find(key_of(k)).has_value();
  CHECK(findable == capacity);
  CHECK(cache.stats().evictions > 0);
}

TEST_CASE("8 threads on a perceptual cache with a radius: concurrent scans see whole entries") {
  result_cache<prediction, perceptual_key> cache(
      {.capacity = 256, .radius = 2, .max_thumbnail_distance = 1.0f});
  auto key = [](std::uint64_t i) {
    perceptual_key k{i * 0x9E3779B97F4A7C15ull, i, {}};
    k.view.pixels.fill(static_cast<std::uint8_t>(i % 251));
    return k;
  };
  std::atomic<int> wrong{0};
  run_threads([&](int t) {
    std::mt19937_64 rng(200 + static_cast<std::uint64_t>(t));
    for (int step = 0; step < 1500; ++step) {
      const std::uint64_t k = rng() % 600;
      if (step % 4 == 0) {
        cache.insert(key(k), value_of(k));
      } else {
        perceptual_key probe = key(k);
        probe.hash ^= std::uint64_t{1} << (rng() % 64);  // one bit away: a near match
        probe.check = ~probe.check;
        if (const auto hit = cache.find(probe); hit && !(*hit == value_of(k))) ++wrong;
      }
    }
  });
  CHECK(wrong.load() == 0);
  CHECK(cache.size() <= 256);
}
