// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <lmnet/network.hpp>
#pragma once

#include <cstddef>
#include <string_view>

namespace lmnet::detail {

/// A fixed-capacity string built during constant evaluation. It is a structural type, so a failed
/// network check can pass it as a template argument and the compiler prints it in its diagnostic.
struct message {
  static constexpr std::size_t capacity = 240;
  char text[capacity]{};
  std::size_t length = 0;

  constexpr message& operator<<(std::string_view s) {
    for (char c : s) {
      if (length + 1 < capacity) text[length++] = c;
    }
    return *this;
  }
  constexpr message& operator<<(const char* s) { return *this << std::string_view(s); }
  constexpr message& operator<<(char c) { return *this << std::string_view(&c, 1); }
  constexpr message& operator<<(long long v) {
    if (v < 0) {
      *this << '-';
      v = -v;
    }
    char digits[24]{};
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) *this << digits[--n];
    return *this;
  }
  constexpr message& operator<<(int v) { return *this << static_cast<long long>(v); }
  constexpr message& operator<<(std::size_t v) { return *this << static_cast<long long>(v); }

  constexpr bool empty() const { return length == 0; }
  constexpr std::string_view view() const { return {text, length}; }
};

}  // namespace lmnet::detail
