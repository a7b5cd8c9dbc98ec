// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/io/detail/name_match.hpp>
#include <lmnet/io/dtype.hpp>
#include <lmnet/io/safetensors.hpp>
#include <lmnet/io/tensor_table.hpp>
#include <lmnet/io/weight_source.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

namespace detail {

// Rows of cells, each column as wide as its widest cell and two spaces, one row per line.
inline std::string aligned(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& cells : rows) {
    width.resize(std::max(width.size(), cells.size()));
    for (std::size_t c = 0; c < cells.size(); ++c) width[c] = std::max(width[c], cells[c].size());
  }
  std::string out;
  for (const auto& cells : rows) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      line += cells[c];
      if (c + 1 < cells.size()) line += std::string(width[c] + 2 - cells[c].size(), ' ');
    }
    out += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
  }
  return out;
}

}  // namespace detail

/// A safetensors file's metadata (`key = value`), then one line per tensor (name, dtype, shape)
/// and their count: what `lmnet_inspect <file>` prints.
inline std::string list_tensors(const safetensors& file) {
  std::string out;
  for (const auto& [key, value] : file.metadata()) out += "metadata " + key + " = " + value + "\n";
  std::vector<std::vector<std::string>> rows;
  std::size_t values = 0;
  for (const std::string& name : file.tensors().names()) {
    const stored_tensor& t = *file.tensors().find(name);
    values += t.element_count();
    rows.push_back({name, std::string(dtype_name(t.type)), shape_string(t.shape)});
  }
  return out + detail::aligned(rows) + std::to_string(rows.size()) + " tensors, " +
         std::to_string(values) + " values\n";
}

/// The tensors a network expects beside those a source holds.
struct tensor_comparison {
  std::string table;       // one line per name: status, name, expected shape, dtype and shape held
  std::size_t problems{};  // missing, misshapen, unreadable and unexpected tensors
};

/// Lines up `expected` (see `expected_tensors(plan)`) with `held`, one row per name: `ok`,
/// `missing` (with the nearest unexpected name), `shape` (a different shape), `dtype` (not F32,
/// F16 or BF16), `unexpected` (no layer reads it), `unread` (PyTorch's num_batches_tracked), then
/// a summary. With any problem, loading fails; the rows say why.
inline tensor_comparison compare_tensors(std::span<const tensor_spec> expected,
                                         const tensor_table& held) {
  const std::vector<std::string> names = held.names();
  std::vector<detail::held_tensor> held_view;
  for (const std::string& name : names) held_view.push_back({name, held.find(name)->shape});
  const detail::name_match match = detail::match_names(expected, held_view);

  auto stored = [&](const std::string& name) {
    const stored_tensor& t = *held.find(name);
    return std::string(dtype_name(t.type)) + " " + shape_string(t.shape);
  };
  // Columns: status, name, expected shape, dtype and shape held, note.
  std::vector<std::vector<std::string>> rows = {{"status", "tensor", "network", "file"}};
  std::size_t ok = 0, misshapen = 0, unreadable = 0, next_missing = 0;
  for (std::size_t e = 0; e < expected.size(); ++e) {
    const tensor_spec& t = expected[e];
    if (next_missing < match.missing.size() && match.missing[next_missing] == e) {
      const auto nearest = match.nearest[next_missing++];
      rows.push_back({"missing", t.name, shape_string(t.shape), "-",
                      nearest ? "nearest: " + names[*nearest] : ""});
      continue;
    }
    const stored_tensor& s = *held.find(t.name);
    const bool same_shape = std::ranges::equal(s.shape, t.shape);
    const bool readable = is_readable(s.type);
    misshapen += !same_shape;
    unreadable += same_shape && !readable;
    ok += same_shape && readable;
    rows.push_back({!same_shape ? "shape"
                    : !readable ? "dtype"
                                : "ok",
                    t.name, shape_string(t.shape), stored(t.name),
                    same_shape && !readable ? "F32, F16 or BF16 expected" : ""});
  }
  for (const std::size_t h : match.unexpected) {
    rows.push_back({"unexpected", names[h], "-", stored(names[h])});
  }
  for (const std::string& name : names) {
    if (detail::is_batch_counter(name)) rows.push_back({"unread", name, "-", stored(name)});
  }

  tensor_comparison out;
  out.problems = match.missing.size() + misshapen + unreadable + match.unexpected.size();
  out.table = detail::aligned(rows) + std::to_string(expected.size()) +
              " expected: " + std::to_string(ok) + " ok, " + std::to_string(match.missing.size()) +
              " missing, " + std::to_string(misshapen) + " of another shape, " +
              std::to_string(unreadable) + " of another dtype; " +
              std::to_string(match.unexpected.size()) + " unexpected\n";
  return out;
}

}  // namespace lmnet
