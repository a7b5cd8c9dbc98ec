// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/detail/name_match.hpp>
#include <lmnet/io/dtype.hpp>
#include <lmnet/io/weight_source.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmnet {

/// One tensor as stored: its elements' type, shape, and bytes (not owned).
struct stored_tensor {
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
  std::endian order = std::endian::little;  // safetensors files are little-endian

  /// Elements in the shape (1 for a 0-d tensor).
  std::size_t element_count() const {
    std::size_t n = 1;
    for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
    return n;
  }
};

/// Named tensors viewed in memory someone else owns, and the checks every stored-weight source
/// shares (safetensors files, embedded arrays): a WeightSource that converts F32, F16 and BF16 to
/// fp32 and reports, by tensor name, a missing or unexpected tensor, a wrong shape or dtype, and
/// non-finite values. `origin` (a file name, say) starts every message.
class tensor_table {
 public:
  explicit tensor_table(std::string origin) : origin_(std::move(origin)) {}

  /// Adds a tensor; throws if the name is taken, a dimension is negative, or `bytes` does not hold
  /// exactly the shape's elements.
  void add(const std::string& name, stored_tensor t) {
    check_name(name);
    std::size_t count = 1;
    bool empty = false;
    for (std::int64_t d : t.shape) {
      if (d < 0)
        fail("tensor '" + name + "' has a negative dimension in shape " + shape_string(t.shape));
      empty = empty || d == 0;
    }
    if (!empty) {
      const std::size_t limit = std::numeric_limits<std::size_t>::max() / dtype_size(t.type);
      for (std::int64_t d : t.shape) {
        if (static_cast<std::uint64_t>(d) > limit / count) {
          fail("tensor '" + name + "' has shape " + shape_string(t.shape) +
               ", too many elements to address");
        }
        count *= static_cast<std::size_t>(d);
      }
    } else {
      count = 0;
    }
    const std::size_t expected = count * dtype_size(t.type);
    if (t.bytes.size() != expected) {
      fail("tensor '" + name + "' holds " + std::to_string(t.bytes.size()) + " bytes, but shape " +
           shape_string(t.shape) + " of " + std::string(dtype_name(t.type)) + " needs " +
           std::to_string(expected));
    }
    if (!tensors_.try_emplace(name, entry{std::move(t), false}).second) {
      fail("tensor '" + name + "' appears twice");
    }
  }

  /// Throws if `name` holds a control character: a NUL would cut every message that names it.
  void check_name(std::string_view name) const {
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (detail::control_length(name, i) > 0) {
        fail("tensor name '" + detail::escaped(name) + "' holds a control character at byte " +
             std::to_string(i));
      }
    }
  }

  std::size_t size() const { return tensors_.size(); }
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  /// The tensor named `name`, or null.
  const stored_tensor* find(std::string_view name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second.tensor;
  }
  /// Every name, in sorted order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : tensors_) out.push_back(name);
    return out;
  }
  const std::string& origin() const { return origin_; }

  /// Fills `out` with tensor `name` converted to fp32, after checking its dtype, its shape against
  /// `shape`, and that every value is finite.
  void read(const std::string& name, std::span<const std::int64_t> shape, std::span<float> out) {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      fail("missing tensor '" + name + "' (expected shape " + shape_string(shape) + ")");
    }
    const stored_tensor& t = it->second.tensor;
    if (!is_readable(t.type)) {
      fail("tensor '" + name + "' has dtype " + std::string(dtype_name(t.type)) +
           ", expected F32, F16 or BF16");
    }
    if (!std::equal(t.shape.begin(), t.shape.end(), shape.begin(), shape.end())) {
      fail("tensor '" + name + "' has shape " + shape_string(t.shape) + ", expected " +
           shape_string(shape));
    }
    if (t.element_count() != out.size()) {
      fail("tensor '" + name + "' holds " + std::to_string(t.element_count()) +
           " values, but the destination holds " + std::to_string(out.size()));
    }
    detail::convert_to_float(t.type, t.bytes, t.order, out);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!std::isfinite(out[i])) {
        fail("tensor '" + name + "' has a non-finite value (" + std::to_string(out[i]) +
             ") at index " + std::to_string(i));
      }
    }
    it->second.used = true;
  }

  /// Before any read: throws one error naming every tensor of `expected` the table lacks (each
  /// with the nearest name the network does not read) and every tensor it holds that is not
  /// expected, except PyTorch's `num_batches_tracked` counters.
  void expect(std::span<const tensor_spec> expected) const {
    std::vector<detail::held_tensor> held;
    for (const auto& [name, e] : tensors_) held.push_back({name, e.tensor.shape});
    const detail::name_match m = detail::match_names(expected, held);
    if (!m.empty()) fail(detail::describe_mismatch(m, expected, held));
  }

  /// Throws if a tensor was never read, except PyTorch's `num_batches_tracked` counters.
  void finish() const {
    std::vector<std::string> unused;
    for (const auto& [name, e] : tensors_) {
      if (!e.used && !detail::is_batch_counter(name)) unused.push_back(name);
    }
    if (unused.empty()) return;
    std::string list;
    const std::size_t shown = std::min<std::size_t>(unused.size(), 5);
    for (std::size_t i = 0; i < shown; ++i) list += (i > 0 ? ", '" : "'") + unused[i] + "'";
    if (unused.size() > shown) list += " and " + std::to_string(unused.size() - shown) + " more";
    fail((unused.size() == 1 ? "unexpected tensor " : "unexpected tensors ") + list +
         ": no layer of the network reads " + (unused.size() == 1 ? "it" : "them"));
  }

 private:
  struct entry {
    stored_tensor tensor;
    bool used;
  };

  [[noreturn]] void fail(const std::string& what) const { throw error(origin_ + ": " + what); }

  std::string origin_;
  std::map<std::string, entry, std::less<>> tensors_;
};

static_assert(WeightSource<tensor_table>);

}  // namespace lmnet
