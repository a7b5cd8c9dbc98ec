// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>

#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace lmnet {

/// An owning, zero-initialised, 64-byte aligned array of floats. It allocates only when constructed
/// or resized, never while a model runs.
class aligned_buffer {
 public:
  static constexpr std::size_t alignment = 64;

  aligned_buffer() = default;
  explicit aligned_buffer(std::size_t count) { resize(count); }
  aligned_buffer(const aligned_buffer& other) : aligned_buffer(other.size_) {
    if (size_ != 0) std::memcpy(data_, other.data_, size_ * sizeof(float));
  }
  aligned_buffer(aligned_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  aligned_buffer& operator=(aligned_buffer other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~aligned_buffer() { release(); }

  void resize(std::size_t count) {
    release();
    if (count == 0) return;
    // Round up so vector loads of a whole register never touch memory past the allocation.
    const std::size_t bytes = (count * sizeof(float) + alignment - 1) / alignment * alignment;
    data_ = static_cast<float*>(::operator new (bytes, std::align_val_t{alignment}));
    std::memset(data_, 0, bytes);
    size_ = count;
  }

  float* data() { return data_; }
  const float* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<float> span() { return {data_, size_}; }
  std::span<const float> span() const { return {data_, size_}; }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete (data_, std::align_val_t{alignment});
    data_ = nullptr;
    size_ = 0;
  }

  float* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace lmnet
