// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lmnet::detail {

/// Thrown by json_reader; the caller turns it into an lmnet::error that names the file.
struct json_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A pull reader for the small part of JSON that file headers use: objects, arrays, strings and
/// non-negative integers. It is strict (RFC 8259 strings and whitespace, valid UTF-8, no leading
/// zeros) and never reads past the text it was given. The caller drives it with the grammar it
/// expects, so nesting depth is bounded by the caller's code, not by the input.
class json_reader {
 public:
  explicit json_reader(std::string_view text) : text_(text) { check_utf8(); }

  /// Skips whitespace; true if the next character is `c` (which is then consumed).
  bool accept(char c) {
    skip_whitespace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }

  /// The next value is `null` (consumed) or not (nothing consumed).
  bool accept_null() {
    skip_whitespace();
    if (text_.substr(pos_, 4) == "null") {
      pos_ += 4;
      return true;
    }
    return false;
  }

  /// Calls `member(key)` for each member of an object; `member` must read the value.
  template <class F>
  void read_object(F&& member) {
    expect('{');
    if (accept('}')) return;
    do {
      std::string key = read_string();
      expect(':');
      member(key);
    } while (accept(','));
    expect('}');
  }

  /// Calls `element()` for each element of an array; `element` must read the value.
  template <class F>
  void read_array(F&& element) {
    expect('[');
    if (accept(']')) return;
    do {
      element();
    } while (accept(','));
    expect(']');
  }

  std::string read_string() {
    skip_whitespace();
    if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string");
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated string");
      switch (text_[pos_++]) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          append_utf8(out, read_escaped_code_point());
          break;
        default:
          fail("invalid escape in a string");
      }
    }
  }

  /// A non-negative integer without sign, fraction or exponent, at most `max`.
  std::uint64_t read_unsigned(std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    skip_whitespace();
    const std::size_t begin = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (value > (max - digit) / 10) fail("integer larger than " + std::to_string(max));
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == begin) fail("expected a non-negative integer");
    if (text_[begin] == '0' && pos_ - begin > 1) fail("integer with a leading zero");
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      fail("expected an integer, found a fraction or exponent");
    }
    return value;
  }

  /// Only whitespace may remain.
  void expect_end() {
    skip_whitespace();
    if (pos_ != text_.size()) fail("unexpected text after the end of the header object");
  }

  std::size_t position() const { return pos_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw json_error(what + " at byte " + std::to_string(pos_) + " of the header");
  }

 private:
  void skip_whitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  unsigned read_hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("invalid \\u escape");
      }
    }
    return value;
  }

  // A \uXXXX escape (after the 'u'), joining a UTF-16 surrogate pair.
  std::uint32_t read_escaped_code_point() {
    const unsigned high = read_hex4();
    if (high >= 0xdc00 && high <= 0xdfff) fail("unpaired low surrogate in a \\u escape");
    if (high < 0xd800 || high > 0xdbff) return high;
    if (text_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in a \\u escape");
    pos_ += 2;
    const unsigned low = read_hex4();
    if (low < 0xdc00 || low > 0xdfff) fail("unpaired high surrogate in a \\u escape");
    return 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    auto byte = [&](std::uint32_t b) { out += static_cast<char>(static_cast<unsigned char>(b)); };
    if (cp < 0x80) {
      byte(cp);
    } else if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
      byte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    }
  }

  // RFC 3629: shortest forms only, no surrogates, nothing above U+10FFFF.
  void check_utf8() {
    for (std::size_t i = 0; i < text_.size();) {
      const auto lead = static_cast<unsigned char>(text_[i]);
      std::size_t length;
      std::uint32_t cp, min;
      if (lead < 0x80) {
        ++i;
        continue;
      } else if ((lead & 0xe0) == 0xc0) {
        length = 2, cp = lead & 0x1fu, min = 0x80;
      } else if ((lead & 0xf0) == 0xe0) {
        length = 3, cp = lead & 0x0fu, min = 0x800;
      } else if ((lead & 0xf8) == 0xf0) {
        length = 4, cp = lead & 0x07u, min = 0x10000;
      } else {
        pos_ = i;
        fail("invalid UTF-8");
      }
      if (text_.size() - i < length) {
        pos_ = i;
        fail("truncated UTF-8 sequence");
      }
      for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text_[i + k]);
        if ((next & 0xc0) != 0x80) {
          pos_ = i;
          fail("invalid UTF-8");
        }
        cp = (cp << 6) | (next & 0x3fu);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        pos_ = i;
        fail("invalid UTF-8");
      }
      i += length;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace lmnet::detail
