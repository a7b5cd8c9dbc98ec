// SPDX-License-Identifier: Apache-2.0
// The result cache against a map of what was stored, its bound, its eviction, perceptual
// matching, and the cached wrapper.
#include "scripted_model.hpp"

#include <lmnet/cascade/cache.hpp>
#include <lmnet/cascade/cached.hpp>
#include <lmnet/cascade/cascade.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

using namespace lmnet;

namespace {
exact_key key_of(std::uint64_t i) {
  const std::uint64_t bytes[] = {i, i * 7 + 1};
  return make_exact_key(std::as_bytes(std::span(bytes)));
}
prediction value_of(std::uint64_t i, int version = 0) {
  return {static_cast<std::int32_t>(i % 1000 + 1000 * static_cast<std::uint64_t>(version)),
          static_cast<float>(i) * 0.5f};
}
}  // namespace

TEST_CASE("the cache returns exactly what was stored, and nothing for keys never stored") {
  result_cache<prediction> cache({.capacity = 100});
  for (std::uint64_t i = 0; i < 50; ++i) cache.insert(key_of(i), value_of(i));
  for (std::uint64_t i = 0; i < 50; ++i) {
    const auto hit = cache.find(key_of(i));
    REQUIRE(hit.has_value());
    CHECK(*hit == value_of(i));
  }
  for (std::uint64_t i = 50; i < 60; ++i) CHECK_FALSE(cache.find(key_of(i)).has_value());
  cache.insert(key_of(3), value_of(3, 1));  // same key: replaced, not added
  CHECK(*cache.find(key_of(3)) == value_of(3, 1));
  CHECK(cache.size() == 50);
  const cache_stats s = cache.stats();
  CHECK(s.lookups == 61);
  CHECK(s.hits == 51);
  CHECK(s.misses == 10);
  CHECK(s.insertions == 51);
  CHECK(s.evictions == 0);
  CHECK(s.hit_rate() == doctest::Approx(51.0 / 61));
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.find(key_of(1)).has_value());
}

TEST_CASE("the cache never exceeds its capacity and every entry it holds stays reachable") {
  for (std::size_t capacity : {1u, 7u, 64u, 1000u}) {
    CAPTURE(capacity);
    result_cache<prediction> cache({.capacity = capacity});
    std::map<std::uint64_t, prediction> stored;  // the last value stored per key
    std::mt19937_64 rng(capacity);
    const std::uint64_t universe = 3 * capacity + 5;
    for (int step = 0; step < 5000; ++step) {
      const std::uint64_t k = rng() % universe;
      if (rng() % 3 == 0) {
        const prediction v = value_of(k, step % 7);
        cache.insert(key_of(k), v);
        stored[k] = v;
      } else if (const auto hit = cache.find(key_of(k))) {
        CHECK(*hit == stored.at(k));  // a hit is always the last value stored under that key
      }
      REQUIRE(cache.size() <= capacity);
    }
    // Every held entry is findable: as many keys hit as the cache says it holds.
    std::size_t findable = 0;
    for (const auto& [k, v] : stored) {
      if (const auto hit = cache.find(key_of(k))) {
        ++findable;
        CHECK(*hit == v);
      }
    }
    CHECK(findable == cache.size());
    CHECK(cache.size() == std::min(capacity, stored.size()));
    const cache_stats s = cache.stats();
    CHECK(s.evictions + cache.size() <= s.insertions);
    CHECK((stored.size() > capacity) == (s.evictions > 0));
  }
}

TEST_CASE("eviction is CLOCK: entries used since the hand passed get a second chance") {
  result_cache<prediction> cache({.capacity = 4});
  for (std::uint64_t i = 0; i < 4; ++i) cache.insert(key_of(i), value_of(i));
  CHECK(cache.find(key_of(0)).has_value());  // 0 used
  cache.insert(key_of(4), value_of(4));      // the hand spares 0, evicts 1
  CHECK(cache.find(key_of(0)).has_value());
  CHECK_FALSE(cache.find(key_of(1)).has_value());
  CHECK(cache.find(key_of(2)).has_value());
  CHECK(cache.find(key_of(4)).has_value());
  CHECK(cache.stats().evictions == 1);
  CHECK(cache.size() == 4);
}

TEST_CASE("a memory budget bounds the bytes allocated; too small a budget is an error") {
  result_cache<prediction> unbounded({.capacity = 10000});
  const std::size_t full = unbounded.memory_bytes();
  result_cache<prediction> budgeted({.capacity = 10000, .memory_budget = full / 3});
  CHECK(budgeted.memory_bytes() <= full / 3);
  CHECK(budgeted.capacity() < 10000);
  CHECK(budgeted.capacity() > 10000 / 6);
  for (std::uint64_t i = 0; i < 20000; ++i) budgeted.insert(key_of(i), value_of(i));
  CHECK(budgeted.size() == budgeted.capacity());
  result_cache<prediction, perceptual_key> perceptual({.capacity = 1000, .memory_budget = 100000});
  CHECK(perceptual.memory_bytes() <= 100000);
  CHECK(perceptual.capacity() >= 300);  // a perceptual entry holds a 256-byte thumbnail
  CHECK_THROWS_WITH_AS((result_cache<prediction>({.capacity = 10, .memory_budget = 8})),
                       doctest::Contains("hold no entry"), lmnet::error);
  CHECK_THROWS_AS((result_cache<prediction>({.capacity = 0})), lmnet::error);
  CHECK_THROWS_WITH_AS((result_cache<prediction>({.radius = 2})),
                       doctest::Contains("need perceptual keys"), lmnet::error);
}

TEST_CASE(
    "exact keys: a 64-bit collision is detected by the check hash, counted, and not answered") {
  result_cache<prediction> cache({.capacity = 16});
  const exact_key a{42, 1}, b{42, 2}, c{42, 3};
  cache.insert(a, value_of(1));
  CHECK_FALSE(cache.find(b).has_value());
  CHECK(cache.stats().collisions == 1);
  cache.insert(b, value_of(2));  // both live under the same hash
  cache.insert(c, value_of(3));
  CHECK(*cache.find(a) == value_of(1));
  CHECK(*cache.find(b) == value_of(2));
  CHECK(*cache.find(c) == value_of(3));
  CHECK(cache.size() == 3);
  // Evicting entries from the middle of a probe run keeps the others reachable.
  for (std::uint64_t i = 10; i < 40; ++i) cache.insert({42, i}, value_of(i));
  std::size_t findable = 0;
  for (std::uint64_t i = 1; i < 40; ++i) findable += cache.find({42, i}).has_value();
  CHECK(findable == cache.size());
}

namespace {
perceptual_key perceptual(std::uint64_t hash, std::uint64_t check, std::uint8_t grey) {
  perceptual_key k{hash, check, {}};
  k.view.pixels.fill(grey);
  return k;
}
}  // namespace

TEST_CASE("perceptual keys match the nearest hash within the radius, confirmed by thumbnail") {
  result_cache<prediction, perceptual_key> cache(
      {.capacity = 64, .radius = 3, .max_thumbnail_distance = 2.0f});
  cache.insert(perceptual(0b0000, 1, 100), value_of(1));
  cache.insert(perceptual(0b1111'0000, 2, 100), value_of(2));
  // Distance 1 from the first, 5 from the second: the first.
  CHECK(*cache.find(perceptual(0b0001, 9, 101)) == value_of(1));
  CHECK(cache.stats().near_hits == 1);
  // Distance 5 from the first, 1 from the second: the second.
  CHECK(*cache.find(perceptual(0b1111'0001, 9, 100)) == value_of(2));
  CHECK(cache.stats().near_hits == 2);
  // Within the radius but a different picture (thumbnail 20 grey levels away): a collision.
  CHECK_FALSE(cache.find(perceptual(0b0001, 9, 120)).has_value());
  CHECK(cache.stats().collisions == 1);
  // Beyond the radius: a miss.
  CHECK_FALSE(cache.find(perceptual(0b1111, 9, 100)).has_value());  // 4 and 8 bits away
  CHECK_FALSE(cache.find(perceptual(0b1'1111'1111'0000, 9, 100)).has_value());
  // The identical input is an exact hit, not a near one.
  const std::uint64_t near_before = cache.stats().near_hits;
  CHECK(*cache.find(perceptual(0b0000, 1, 100)) == value_of(1));
  CHECK(cache.stats().near_hits == near_before);
}

TEST_CASE("with radius 0 and no thumbnail check, the cache behaves as the paper's dictionary") {
  result_cache<prediction, perceptual_key> cache({.capacity = 64});
  cache.insert(perceptual(77, 1, 10), value_of(1));
  // Same dHash, different picture: the paper's memory answers anyway.
  CHECK(*cache.find(perceptual(77, 2, 200)) == value_of(1));
  CHECK_FALSE(cache.find(perceptual(76, 1, 10)).has_value());
  // With a thumbnail check the same lookup is refused.
  result_cache<prediction, perceptual_key> checked(
      {.capacity = 64, .max_thumbnail_distance = 5.0f});
  checked.insert(perceptual(77, 1, 10), value_of(1));
  CHECK_FALSE(checked.find(perceptual(77, 2, 200)).has_value());
  CHECK(*checked.find(perceptual(77, 2, 12)) == value_of(1));
}

TEST_CASE("the cached wrapper answers repeated inputs from the cache without running the model") {
  test::scripted_model model({{0.0f, 2.0f}, {3.0f, 0.0f}});
  result_cache<prediction> memory({.capacity = 8});
  cached classifier(model, memory);  // keyed by the bytes of the model's input
  const std::vector<float> a = test::scripted_input(0), b = test::scripted_input(1);
  CHECK(classifier.classify(a).label == 1);
  CHECK_FALSE(classifier.last_hit());
  CHECK(classifier.classify(a).label == 1);
  CHECK(classifier.last_hit());
  CHECK(classifier.classify(b).label == 0);
  CHECK(model.seen == std::vector<int>{0, 1});

  // Keyed by a raw image given beside the model's input: a second input with the same raw image
  // is answered from the cache even though the model would say otherwise.
  result_cache<prediction> raw_memory({.capacity = 8});
  cached by_raw(model, raw_memory, exact_key_of{});
  const std::vector<std::uint8_t> raw(16, 9);
  CHECK(by_raw.classify(a, std::span<const std::uint8_t>(raw)).label == 1);
  CHECK(by_raw.classify(b, std::span<const std::uint8_t>(raw)).label == 1);
  CHECK(by_raw.last_hit());
}

TEST_CASE("a cascade behind a perceptual cache: near-duplicate images skip both models") {
  test::scripted_model first({{0.0f, 0.1f}}), second({{2.0f, 0.0f}});
  cascade dual(first, second, threshold_rule{score::max_probability, 0.9f});
  result_cache<prediction, perceptual_key> memory(
      {.capacity = 8, .radius = 4, .max_thumbnail_distance = 3.0f});
  cached classifier(dual, memory, perceptual_key_of{28, 28, 1, {.dead_zone = 4.0f}});
  std::vector<std::uint8_t> image(28 * 28), noisy(28 * 28);
  for (int i = 0; i < 28 * 28; ++i) {
    image[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((i * 37) % 200 + 20);
    noisy[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(image[static_cast<std::size_t>(i)] + (i % 3) - 1);
  }
  const std::vector<float> input = test::scripted_input(0);
  CHECK(classifier.classify(input, std::span<const std::uint8_t>(image)).label == 0);  // deferred
  CHECK(classifier.classify(input, std::span<const std::uint8_t>(noisy)).label == 0);
  CHECK(classifier.last_hit());
  CHECK(dual.stats().images == 1);
  CHECK(memory.stats().near_hits == 1);
}

namespace {
/// A 28x28 picture on black: a disc and stripes, lit unevenly, inside a black border.
std::vector<std::uint8_t> picture(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> image(28 * 28, 0);
  const int cy = 12 + static_cast<int>(rng() % 4), cx = 12 + static_cast<int>(rng() % 4);
  for (int y = 3; y < 25; ++y) {
    for (int x = 3; x < 25; ++x) {
      if ((y - cy) * (y - cy) + (x - cx) * (x - cx) < 60 || (y > 18 && (x + y) % 4 < 2))
        image[static_cast<std::size_t>(y * 28 + x)] = static_cast<std::uint8_t>(90 + rng() % 160);
    }
  }
  return image;
}

std::vector<std::uint8_t> moved(const std::vector<std::uint8_t>& image, int dy, int dx) {
  std::vector<std::uint8_t> out(image.size(), 0);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const int sy = y - dy, sx = x - dx;
      if (sy >= 0 && sy < 28 && sx >= 0 && sx < 28)
        out[static_cast<std::size_t>(y * 28 + x)] = image[static_cast<std::size_t>(sy * 28 + sx)];
    }
  }
  return out;
}
}  // namespace

TEST_CASE("centred keys: a copy moved by a pixel or two hits, without running the model") {
  test::scripted_model model({{0.0f, 4.0f}});
  result_cache<prediction, perceptual_key> memory(
      {.capacity = 64, .radius = 6, .max_thumbnail_distance = 6.0f});
  cached classifier(model, memory, centred_key_of{28, 28, 1, {.dead_zone = 4.0f}});
  // The frame's own key, for comparison: a moved copy is a different picture to it.
  result_cache<prediction, perceptual_key> frame_memory(
      {.capacity = 64, .radius = 6, .max_thumbnail_distance = 6.0f});
  cached frame_classifier(model, frame_memory, perceptual_key_of{28, 28, 1, {.dead_zone = 4.0f}});
  const std::vector<float> input = test::scripted_input(0);
  const std::vector<std::uint8_t> image = picture(1);
  classifier.classify(input, std::span<const std::uint8_t>(image));
  frame_classifier.classify(input, std::span<const std::uint8_t>(image));
  const std::size_t runs = model.seen.size();
  int frame_hits = 0;
  for (int dy = -2; dy <= 2; ++dy) {
    for (int dx = -2; dx <= 2; ++dx) {
      CAPTURE(dy);
      CAPTURE(dx);
      const std::vector<std::uint8_t> copy = moved(image, dy, dx);
      CHECK(classifier.classify(input, std::span<const std::uint8_t>(copy)).label == 1);
      CHECK(classifier.last_hit());
      frame_classifier.classify(input, std::span<const std::uint8_t>(copy));
      frame_hits += frame_classifier.last_hit();
    }
  }
  CHECK(model.seen.size() == runs + 25 - frame_hits);  // only the frame's misses ran the model
  CHECK(memory.stats().near_hits == 24);
  CHECK(frame_hits <= 5);
}

TEST_CASE("a distinct picture that shares a hash is refused by the thumbnail, and counted") {
  // Exactly half as bright (even grey levels halved): every brightness step keeps its sign and
  // the brightness centre stays, so the centred hash (no dead zone) is the same; the thumbnail is
  // not.
  std::vector<std::uint8_t> image = picture(2);
  for (auto& p : image) p = static_cast<std::uint8_t>(p & 0xFE);
  std::vector<std::uint8_t> dimmer = image;
  for (auto& p : dimmer) p = static_cast<std::uint8_t>(p / 2);
  const centred_key_of key_of{28, 28, 1};
  const perceptual_key bright = key_of(image), dim = key_of(dimmer);
  REQUIRE(bright.hash == dim.hash);
  REQUIRE(thumbnail_distance(bright.view, dim.view) > 10.0f);
  for (int radius : {0, 6}) {
    CAPTURE(radius);
    result_cache<prediction, perceptual_key> memory(
        {.capacity = 16, .radius = radius, .max_thumbnail_distance = 6.0f});
    memory.insert(bright, value_of(1));
    CHECK_FALSE(memory.find(dim).has_value());
    CHECK(memory.stats().collisions == 1);
    CHECK(*memory.find(bright) == value_of(1));
  }
  // Without the confirmation, the paper's dictionary answers for the other picture.
  result_cache<prediction, perceptual_key> dictionary({.capacity = 16});
  dictionary.insert(bright, value_of(1));
  CHECK(dictionary.find(dim).has_value());
}

TEST_CASE("a radius lookup answers with the confirmed entry whose thumbnail is nearest") {
  // Against a search of every stored key: entries within the radius whose thumbnails pass,
  // ranked by thumbnail difference, then hash distance, then the identical input first. Half the
  // hashes cluster (many candidates to rank), half are spread (a block's only candidate); queries
  // lie 0 to radius + 1 bits from a stored key; sizes are not multiples of the scan's blocks.
  std::mt19937_64 rng(17);
  constexpr int radius = 4;
  for (std::size_t stored : {5u, 32u, 100u, 333u}) {
    CAPTURE(stored);
    result_cache<prediction, perceptual_key> memory(
        {.capacity = 1024, .radius = radius, .max_thumbnail_distance = 20.0f});
    std::vector<perceptual_key> keys;
    for (std::size_t i = 0; i < stored; ++i) {
      const std::uint64_t hash = i % 2 ? rng() : (rng() & 0xFF) | (std::uint64_t{0xAB} << 56);
      perceptual_key k{hash, i, {}};
      for (auto& p : k.view.pixels) p = static_cast<std::uint8_t>(100 + rng() % 40);
      memory.insert(k, {static_cast<std::int32_t>(i), 1.0f});
      keys.push_back(k);
    }
    for (int query = 0; query < 300; ++query) {
      perceptual_key q = keys[rng() % stored];
      for (int flips = static_cast<int>(rng() % (radius + 2)); flips > 0;) {
        const std::uint64_t bit = std::uint64_t{1} << (rng() % 64);
        if ((q.hash ^ keys[static_cast<std::size_t>(q.check)].hash) & bit) continue;
        q.hash ^= bit;
        --flips;
      }
      if (rng() % 2) q.check = 1000000;
      for (auto& p : q.view.pixels) p = static_cast<std::uint8_t>(p + rng() % 7 - 3);
      std::optional<std::size_t> expected;
      std::tuple<float, int, bool> best{};
      bool refused = false;
      for (std::size_t i = 0; i < stored; ++i) {
        const int distance = hamming_distance(keys[i].hash, q.hash);
        if (distance > radius) continue;
        const float difference = thumbnail_distance(keys[i].view, q.view);
        if (difference > 20.0f) {
          refused = true;
          continue;
        }
        const std::tuple<float, int, bool> rank{difference, distance, keys[i].check != q.check};
        if (!expected || rank < best) expected = i, best = rank;
      }
      const cache_stats before = memory.stats();
      const auto hit = memory.find(q);
      REQUIRE(hit.has_value() == expected.has_value());
      if (hit) CHECK(hit->label == static_cast<std::int32_t>(*expected));
      CHECK(memory.stats().collisions - before.collisions == (!expected && refused ? 1u : 0u));
    }
  }
  // Equal hashes and thumbnails: the identical input answers, not a near one stored before it.
  for (int twin_radius : {0, 2}) {
    result_cache<prediction, perceptual_key> twins(
        {.capacity = 4, .radius = twin_radius, .max_thumbnail_distance = 1.0f});
    twins.insert(perceptual(5, 1, 50), value_of(1));
    twins.insert(perceptual(5, 2, 50), value_of(2));
    CHECK(*twins.find(perceptual(5, 2, 50)) == value_of(2));
    CHECK(*twins.find(perceptual(5, 1, 50)) == value_of(1));
    CHECK(twins.stats().near_hits == 0);
  }
}

TEST_CASE("the cached wrapper remembers only answers at least as sure as min_probability") {
  // Row 0: p = 0.993 for class 1; row 1: p = 0.62 for class 1.
  test::scripted_model model({{0.0f, 5.0f}, {0.0f, 0.5f}});
  result_cache<prediction> memory({.capacity = 8});
  cached classifier(model, memory, exact_key_of{}, {.min_probability = 0.9f});
  const std::vector<float> sure = test::scripted_input(0), unsure = test::scripted_input(1);
  for (int repeat = 0; repeat < 2; ++repeat) {
    classifier.classify(sure);
    classifier.classify(unsure);
  }
  CHECK(model.seen == std::vector<int>{0, 1, 1});  // the unsure answer was asked for twice
  CHECK(memory.size() == 1);
  CHECK(memory.stats().insertions == 1);
  for (float wrong : {-0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    CHECK_THROWS_WITH_AS(cached(model, memory, exact_key_of{}, {.min_probability = wrong}),
                         doctest::Contains("min_probability"), lmnet::error);
  }
  CHECK_THROWS_WITH_AS((result_cache<prediction, perceptual_key>(
                           {.max_thumbnail_distance = std::numeric_limits<float>::quiet_NaN()})),
                       doctest::Contains("NaN"), lmnet::error);
}
