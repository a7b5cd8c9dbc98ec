// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/io/weight_source.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace lmnet::detail {

/// PyTorch's batch-norm step counters: stored in every state_dict, read by no layer.
inline bool is_batch_counter(std::string_view name) {
  return name.ends_with("num_batches_tracked");
}

/// The length of the control character at `text[i]`: 1 for C0 and DEL, 2 for C1 (U+0080 to
/// U+009F, 0xc2 0x80 to 0xc2 0x9f in UTF-8), 0 for anything else.
inline std::size_t control_length(std::string_view text, std::size_t i) {
  const auto byte = static_cast<unsigned char>(text[i]);
  if (byte < 0x20 || byte == 0x7f) return 1;
  const bool c1 = byte == 0xc2 && i + 1 < text.size() &&
                  (static_cast<unsigned char>(text[i + 1]) & 0xe0) == 0x80;
  return c1 ? 2 : 0;
}

/// `text` with its control characters written as JSON escapes: "a\u0000b".
inline std::string escaped(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t length = control_length(text, i);
    if (length == 0) {
      out += text[i];
      continue;
    }
    i += length - 1;
    const auto code = static_cast<unsigned char>(text[i]);  // the code point's low byte
    out += "\\u00";
    out += hex[code >> 4];
    out += hex[code & 0xf];
  }
  return out;
}

/// Levenshtein distance: the fewest elements to insert, delete or replace to turn `a` into `b`.
template <class T>
std::size_t edit_distance(std::span<const T> a, std::span<const T> b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// "blocks.0.body.weight" -> {"blocks", "0", "body", "weight"}.
inline std::vector<std::string_view> path_segments(std::string_view name) {
  std::vector<std::string_view> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t dot = name.find('.', begin);
    out.push_back(name.substr(begin, dot - begin));
    if (dot == std::string_view::npos) return out;
    begin = dot + 1;
  }
}

/// A tensor a source holds, as far as names are concerned.
struct held_tensor {
  std::string_view name;
  std::span<const std::int64_t> shape;
};

/// The tensors a network expects beside those a source holds, by name.
struct name_match {
  std::vector<std::size_t> missing;                 // into `expected`, in network order
  std::vector<std::optional<std::size_t>> nearest;  // per missing tensor: an unexpected one
  std::vector<std::size_t> unexpected;              // into `held`, batch counters excepted

  bool empty() const { return missing.empty() && unexpected.empty(); }
};

/// Matches names; a missing tensor's nearest unexpected one is the one with the fewest dotted
/// segments to change, then of the same shape, then with the fewest characters to change.
inline name_match match_names(std::span<const tensor_spec> expected,
                              std::span<const held_tensor> held) {
  name_match m;
  std::vector<bool> read(held.size(), false);
  for (std::size_t e = 0; e < expected.size(); ++e) {
    const auto it = std::find_if(held.begin(), held.end(),
                                 [&](const held_tensor& h) { return h.name == expected[e].name; });
    if (it == held.end()) {
      m.missing.push_back(e);
    } else {
      read[static_cast<std::size_t>(it - held.begin())] = true;
    }
  }
  for (std::size_t h = 0; h < held.size(); ++h) {
    if (!read[h] && !is_batch_counter(held[h].name)) m.unexpected.push_back(h);
  }
  std::vector<std::vector<std::string_view>> unexpected_segments;
  for (const std::size_t h : m.unexpected)
    unexpected_segments.push_back(path_segments(held[h].name));
  for (const std::size_t e : m.missing) {
    const tensor_spec& want = expected[e];
    const std::vector<std::string_view> want_segments = path_segments(want.name);
    std::optional<std::size_t> best;
    std::tuple<std::size_t, bool, std::size_t> best_key{};
    for (std::size_t u = 0; u < m.unexpected.size(); ++u) {
      const std::size_t h = m.unexpected[u];
      const std::tuple key{edit_distance<std::string_view>(want_segments, unexpected_segments[u]),
                           !std::ranges::equal(want.shape, held[h].shape),
                           edit_distance<char>(want.name, held[h].name)};
      if (!best || key < best_key) best = h, best_key = key;
    }
    m.nearest.push_back(best);
  }
  return m;
}

/// The error message of a mismatch: one problem on one line, several as a list.
inline std::string describe_mismatch(const name_match& m, std::span<const tensor_spec> expected,
                                     std::span<const held_tensor> held) {
  auto missing_line = [&](std::size_t k) {
    const tensor_spec& t = expected[m.missing[k]];
    std::string line =
        "missing tensor '" + t.name + "' (expected shape " + shape_string(t.shape) + ")";
    if (const auto h = m.nearest[k]) {
      line += "; nearest in the file: '";
      line += held[*h].name;
      line += "' " + shape_string(held[*h].shape);
    }
    return line;
  };
  auto unexpected_line = [&](std::size_t h) {
    std::string line = "unexpected tensor '";
    line += held[h].name;
    return line + "' " + shape_string(held[h].shape) + ": no layer of the network reads it";
  };
  if (m.missing.size() + m.unexpected.size() == 1) {
    return m.missing.empty() ? unexpected_line(m.unexpected[0]) : missing_line(0);
  }
  std::string out = "the tensor names differ from the network's (" +
                    std::to_string(m.missing.size()) + " missing, " +
                    std::to_string(m.unexpected.size()) + " unexpected):";
  for (std::size_t k = 0; k < m.missing.size(); ++k) out += "\n  " + missing_line(k);
  for (const std::size_t h : m.unexpected) out += "\n  " + unexpected_line(h);
  return out;
}

}  // namespace lmnet::detail
