// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/detail/json_reader.hpp>
#include <lmnet/io/dtype.hpp>
#include <lmnet/io/tensor_table.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// A safetensors file (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
/// length N, N bytes of JSON naming each tensor's dtype, shape and byte range, then the data.
/// As a WeightSource it hands tensors to `model::load` by PyTorch `state_dict` name:
///
///     lmnet::model<net> m;
///     m.load(lmnet::safetensors{"l_mobilenet.safetensors"});
///
/// The whole file is validated when it is opened (header syntax, dtypes, shapes, byte ranges inside
/// the data and not overlapping); reading checks each tensor's shape, dtype and values, and
/// `finish` rejects tensors nobody read. Every failure is an `lmnet::error` that names the file and
/// the tensor.
class safetensors {
 public:
  /// Headers larger than this are rejected before anything is parsed (the format's own limit).
  static constexpr std::uint64_t max_header_bytes = 100u << 20;
  /// Tensors of more dimensions are rejected (a hostile header cannot make huge shapes).
  static constexpr std::size_t max_rank = 64;

  /// Reads the file at `path`.
  explicit safetensors(const std::string& path) : owned_(read_file(path)), table_(path) {
    parse(owned_);
  }

  /// Views a file already in memory (a memory-mapped file, an array in flash). The bytes are not
  /// copied and must outlive this object; `origin` names them in error messages.
  explicit safetensors(std::span<const std::byte> bytes, std::string origin = "safetensors data")
      : table_(std::move(origin)) {
    parse(bytes);
  }

  /// Takes a file already read into memory (a buffer received over a network, say).
  explicit safetensors(std::vector<std::byte>&& bytes, std::string origin = "safetensors data")
      : owned_(std::move(bytes)), table_(std::move(origin)) {
    parse(owned_);
  }

  safetensors(safetensors&&) noexcept = default;
  safetensors& operator=(safetensors&&) noexcept = default;
  safetensors(const safetensors&) = delete;  // the table views the owned bytes
  safetensors& operator=(const safetensors&) = delete;

  void expect(std::span<const tensor_spec> expected) const { table_.expect(expected); }
  void read(const std::string& name, std::span<const std::int64_t> shape, std::span<float> out) {
    table_.read(name, shape, out);
  }
  void finish() const { table_.finish(); }
  /// The file's name, or the name given to bytes in memory.
  const std::string& origin() const { return table_.origin(); }

  /// The tensors, for inspection (names, dtypes, shapes) and for tools.
  const tensor_table& tensors() const { return table_; }
  /// The header's "__metadata__" strings (empty when it has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  struct range {
    std::string name;
    std::uint64_t begin, end;
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw error(table_.origin() + ": " + what);
  }

  static std::vector<std::byte> read_file(const std::string& path) {
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                               &std::fclose);
    if (!file) throw error("cannot open '" + path + "': " + std::strerror(errno));
    std::vector<std::byte> bytes;
    std::byte chunk[1 << 16];
    while (const std::size_t n = std::fread(chunk, 1, sizeof chunk, file.get())) {
      bytes.insert(bytes.end(), chunk, chunk + n);
    }
    if (std::ferror(file.get())) {
      throw error("cannot read '" + path + "': " + std::strerror(errno));
    }
    return bytes;
  }

  void parse(std::span<const std::byte> bytes) {
    if (bytes.size() < 8) {
      fail("the file holds " + std::to_string(bytes.size()) +
           " bytes, too few for a safetensors file (it starts with an 8-byte header length)");
    }
    const auto header_bytes =
        detail::load_unsigned<std::uint64_t>(bytes.data(), std::endian::little);
    if (header_bytes > max_header_bytes) {
      fail("header length " + std::to_string(header_bytes) + " is larger than the " +
           std::to_string(max_header_bytes) + "-byte limit: not a safetensors file");
    }
    if (header_bytes > bytes.size() - 8) {
      fail("header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
           std::to_string(bytes.size() - 8) + " bytes follow the length): the file is truncated");
    }
    const auto header = bytes.subspan(8, static_cast<std::size_t>(header_bytes));
    data_ = bytes.subspan(8 + static_cast<std::size_t>(header_bytes));

    std::vector<range> ranges;
    std::vector<std::pair<std::string, stored_tensor>> tensors;
    try {
      // The header's bytes as characters (char may alias any object).
      detail::json_reader json({reinterpret_cast<const char*>(header.data()), header.size()});
      std::set<std::string, std::less<>> keys;
      json.read_object([&](const std::string& key) {
        if (key != "__metadata__") table_.check_name(key);  // before any message quotes it
        if (!keys.insert(key).second) json.fail("key '" + key + "' appears twice");
        if (key == "__metadata__") {
          read_metadata(json);
        } else {
          tensors.emplace_back(key, read_tensor_info(json, key, ranges));
        }
      });
      json.expect_end();
    } catch (const detail::json_error& e) {
      fail(std::string("the header is not valid safetensors JSON: ") + e.what());
    }

    for (auto& [name, t] : tensors) table_.add(name, std::move(t));  // checks sizes

    // Byte ranges must not overlap: a tensor's bytes belong to it alone.
    std::sort(ranges.begin(), ranges.end(),
              [](const range& a, const range& b) { return a.begin < b.begin; });
    const range* previous = nullptr;
    for (const range& r : ranges) {
      if (r.begin == r.end) continue;
      if (previous != nullptr && r.begin < previous->end) {
        fail("tensors '" + previous->name + "' (bytes " + range_string(*previous) + ") and '" +
             r.name + "' (bytes " + range_string(r) + ") overlap");
      }
      previous = &r;
    }
  }

  void read_metadata(detail::json_reader& json) {
    if (json.accept_null()) return;
    json.read_object([&](const std::string& key) {
      std::string value = json.read_string();
      if (!metadata_.emplace(key, std::move(value)).second) {
        json.fail("metadata key '" + detail::escaped(key) + "' appears twice");
      }
    });
  }

  // {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, checked against the data.
  stored_tensor read_tensor_info(detail::json_reader& json, const std::string& name,
                                 std::vector<range>& ranges) const {
    stored_tensor t;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::uint64_t offsets[2] = {0, 0};
    json.read_object([&](const std::string& field) {
      auto once = [&](bool& seen) {
        if (seen) json.fail("tensor '" + name + "': field '" + field + "' appears twice");
        seen = true;
      };
      if (field == "dtype") {
        once(has_dtype);
        const std::string spelled = json.read_string();
        const auto type = parse_dtype(spelled);
        if (!type)
          json.fail("tensor '" + name + "': unknown dtype '" + detail::escaped(spelled) + "'");
        t.type = *type;
      } else if (field == "shape") {
        once(has_shape);
        json.read_array([&] {
          if (t.shape.size() == max_rank) {
            json.fail("tensor '" + name + "': more than " + std::to_string(max_rank) +
                      " dimensions");
          }
          t.shape.push_back(static_cast<std::int64_t>(json.read_unsigned(
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))));
        });
      } else if (field == "data_offsets") {
        once(has_offsets);
        int count = 0;
        json.read_array([&] {
          const std::uint64_t v = json.read_unsigned();
          if (count < 2) offsets[count] = v;
          ++count;
        });
        if (count != 2) {
          json.fail("tensor '" + name + "': data_offsets holds " + std::to_string(count) +
                    " numbers, expected 2 (begin, end)");
        }
      } else {
        json.fail("tensor '" + name + "': unexpected field '" + detail::escaped(field) +
                  "' (expected dtype, shape and data_offsets)");
      }
    });
    if (!has_dtype || !has_shape || !has_offsets) {
      json.fail("tensor '" + name + "': missing field '" +
                (!has_dtype   ? "dtype"
                 : !has_shape ? "shape"
                              : "data_offsets") +
                "'");
    }
    const range r{name, offsets[0], offsets[1]};
    if (r.begin > r.end) {
      fail("tensor '" + name + "': data_offsets " + range_string(r) + " are reversed");
    }
    if (r.end > data_.size()) {
      fail("tensor '" + name + "': data_offsets " + range_string(r) + " end past the " +
           std::to_string(data_.size()) +
           " bytes of data: the file is truncated or the offsets are wrong");
    }
    ranges.push_back(r);
    t.bytes =
        data_.subspan(static_cast<std::size_t>(r.begin), static_cast<std::size_t>(r.end - r.begin));
    return t;
  }

  static std::string range_string(const range& r) {
    std::string s = "[";  // appended piece by piece: GCC 12 misreads "[" + std::to_string(...)
    s += std::to_string(r.begin);
    s += ", ";
    s += std::to_string(r.end);
    return s += "]";
  }

  std::vector<std::byte> owned_;
  std::span<const std::byte> data_;
  std::map<std::string, std::string> metadata_;
  tensor_table table_;
};

static_assert(WeightSource<safetensors>);

}  // namespace lmnet
