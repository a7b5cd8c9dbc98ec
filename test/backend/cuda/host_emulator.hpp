// SPDX-License-Identifier: Apache-2.0
// Runs the CUDA backend's kernel bodies on the host, block by block, so their index math, tiling,
// bounds and phase structure are tested without a GPU, against the reference backend. Shared
// memory is exactly the size a launch declares and starts as NaN: a read past it is caught by
// AddressSanitizer, a read of something no phase wrote shows up as NaN in the output.
#pragma once

#include <lmnet/backend/cuda/schedule.hpp>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <variant>

namespace lmnet::test {

/// A thread block as kernel bodies see it, on one host thread: each phase runs its threads one
/// after another, which is a valid interleaving only because phases end in barriers. Threads run
/// in either order: a phase whose threads depend on each other (a missing barrier on the GPU)
/// gives different results in the two orders.
template <int Threads>
class host_context {
 public:
  static constexpr int threads = Threads;

  template <class T>
  class per_thread {
   public:
    per_thread() : values_(std::make_unique<T[]>(Threads)) {}
    T& operator()(int t) { return values_[static_cast<std::size_t>(t)]; }

   private:
    std::unique_ptr<T[]> values_;
  };

  host_context(float* shared, int x, int y, int z, bool reverse = false)
      : shared_(shared), x_(x), y_(y), z_(z), reverse_(reverse) {}

  float* shared() const { return shared_; }
  int block_x() const { return x_; }
  int block_y() const { return y_; }
  int block_z() const { return z_; }
  template <class F>
  void each(F&& f) {
    for (int i = 0; i < Threads; ++i) f(reverse_ ? Threads - 1 - i : i);
  }
  template <class F>
  void phase(F&& f) {
    each(f);
  }
  void fence() {}
  unsigned atomic_add(unsigned* p, unsigned v) {
    const unsigned old = *p;
    *p = old + v;
    return old;
  }
  float load_coherent(const float* p) { return *p; }

 private:
  float* shared_;
  int x_, y_, z_;
  bool reverse_;
};

/// The order blocks, and threads within a phase, run in: results must not depend on it.
enum class block_order { forward, backward };

/// Runs every block of one launch.
template <class Body>
void emulate(const cuda::launch<Body>& l, block_order order = block_order::forward) {
  const cuda::grid3 g = l.shape.grid;
  const std::size_t floats = l.shape.shared_bytes / sizeof(float);
  struct aligned_delete {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{16}); }
  };
  std::unique_ptr<float[], aligned_delete> shared;
  if (floats > 0) {
    shared.reset(
        static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t{16})));
  }
  const long long blocks = static_cast<long long>(g.blocks());
  for (long long i = 0; i < blocks; ++i) {
    const long long b = order == block_order::forward ? i : blocks - 1 - i;
    const int x = static_cast<int>(b % g.x);
    const int y = static_cast<int>(b / g.x % g.y);
    const int z = static_cast<int>(b / g.x / g.y);
    for (std::size_t k = 0; k < floats; ++k) shared[k] = std::numeric_limits<float>::quiet_NaN();
    host_context<Body::threads> ctx(shared.get(), x, y, z, order == block_order::backward);
    Body::run(l.params, ctx);
  }
}

inline void emulate(const cuda::step& s, block_order order = block_order::forward) {
  std::visit([&](const auto& l) { emulate(l, order); }, s);
}

inline void emulate(const cuda::schedule& s, block_order order = block_order::forward) {
  for (const cuda::step& st : s.steps) emulate(st, order);
}

}  // namespace lmnet::test
