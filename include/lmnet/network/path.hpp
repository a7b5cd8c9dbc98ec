// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/detail/message.hpp>

#include <array>
#include <string>
#include <string_view>

namespace lmnet {

/// A layer's module path, as in a PyTorch `state_dict` key without the tensor name:
/// `features.3.conv.1` is the segments "features", 3, "conv", 1.
struct path {
  struct segment {
    std::string_view text{};
    int index = -1;  // used when text is empty
  };
  static constexpr int max_depth = 10;

  std::array<segment, max_depth> segments{};
  int depth = 0;

  constexpr path child(std::string_view text) const { return append({text, -1}); }
  constexpr path child(int index) const { return append({{}, index}); }
  constexpr bool empty() const { return depth == 0; }

  constexpr void render(detail::message& out) const {
    for (int i = 0; i < depth; ++i) {
      if (i > 0) out << '.';
      if (segments[i].text.empty()) {
        out << segments[i].index;
      } else {
        out << segments[i].text;
      }
    }
  }
  constexpr detail::message rendered() const {
    detail::message m;
    render(m);
    return m;
  }
  /// The path as a string, with `suffix` appended after a dot (for example "weight").
  std::string str(std::string_view suffix = {}) const {
    std::string s(rendered().view());
    if (!suffix.empty()) {
      if (!s.empty()) s += '.';
      s += suffix;
    }
    return s;
  }
  /// Same module path, however it was split into segments ("a.1" equals "a", 1).
  friend constexpr bool operator==(const path& a, const path& b) {
    return a.rendered().view() == b.rendered().view();
  }

 private:
  constexpr path append(segment s) const {
    path p = *this;
    if (p.depth < max_depth) p.segments[p.depth++] = s;
    return p;
  }
};

}  // namespace lmnet
