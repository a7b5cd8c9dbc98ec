// SPDX-License-Identifier: Apache-2.0
// Inference allocates nothing: every global allocation is counted while models run.
#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<long> allocations{0};
}

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  ++allocations;
  const auto a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace {
inline constexpr auto lm = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto sh =
    lmnet::models::shufflenet_v2({.classes = 10, .resolution = 32, .cifar = true});

template <const auto& Net>
long allocations_during_inference(int batch) {
  lmnet::model<Net> m(batch);
  m.load(lmnet::random_weights{});
  const std::vector<float> images(m.input_shape.size() * static_cast<std::size_t>(batch), 0.25f);
  (void)m.infer(images, batch);  // warm: nothing lazy should remain, but do not count it anyway
  const long before = allocations.load();
  for (int i = 0; i < 3; ++i) (void)m.infer(images, batch);
  return allocations.load() - before;
}
}  // namespace

TEST_CASE("model: inference allocates nothing (the counter does count)") {
  const long before = allocations.load();
  auto* probe = new std::vector<int>(3);
  delete probe;
  CHECK(allocations.load() > before);
  CHECK(allocations_during_inference<lm>(1) == 0);
  CHECK(allocations_during_inference<lm>(4) == 0);
  CHECK(allocations_during_inference<sh>(2) == 0);
}

namespace {
inline constexpr auto mb =
    lmnet::models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});

template <const auto& Net, class... EngineArgs>
long simd_allocations_during_inference(int batch, EngineArgs&... engine_args) {
  lmnet::model<Net, lmnet::backend::simd<>> m(batch, engine_args...);
  m.load(lmnet::random_weights{});
  const std::vector<float> images(m.input_shape.size() * static_cast<std::size_t>(batch), 0.25f);
  (void)m.infer(images, batch);
  const long before = allocations.load();
  for (int i = 0; i < 3; ++i) (void)m.infer(images, batch);
  return allocations.load() - before;
}
}  // namespace

TEST_CASE("simd model: inference allocates nothing, on one thread or on a pool") {
  lmnet::thread_pool pool(2);
  CHECK(simd_allocations_during_inference<lm>(1) == 0);
  CHECK(simd_allocations_during_inference<mb>(1) == 0);
  CHECK(simd_allocations_during_inference<sh>(2) == 0);
  CHECK(simd_allocations_during_inference<lm>(1, pool) == 0);
  CHECK(simd_allocations_during_inference<mb>(3, pool) == 0);
}
