// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>

#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace lmnet {

/// An owning, zero-initialised, 64-byte aligned array of T (trivial types: floats, bytes). It
/// allocates only when constructed or resized, never while a model runs.
template <class T>
class basic_aligned_buffer {
 public:
  static constexpr std::size_t alignment = 64;

  basic_aligned_buffer() = default;
  explicit basic_aligned_buffer(std::size_t count) { resize(count); }
  basic_aligned_buffer(const basic_aligned_buffer& other) : basic_aligned_buffer(other.size_) {
    if (size_ != 0) std::memcpy(data_, other.data_, size_ * sizeof(T));
  }
  basic_aligned_buffer(basic_aligned_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  basic_aligned_buffer& operator=(basic_aligned_buffer other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~basic_aligned_buffer() { release(); }

  void resize(std::size_t count) {
    release();
    if (count == 0) return;
    // Round up so vector loads of a whole register never touch memory past the allocation.
    const std::size_t bytes = (count * sizeof(T) + alignment - 1) / alignment * alignment;
    data_ = static_cast<T*>(::operator new (bytes, std::align_val_t{alignment}));
    std::memset(data_, 0, bytes);
    size_ = count;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<T> span() { return {data_, size_}; }
  std::span<const T> span() const { return {data_, size_}; }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete (data_, std::align_val_t{alignment});
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

using aligned_buffer = basic_aligned_buffer<float>;

}  // namespace lmnet
