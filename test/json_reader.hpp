// SPDX-License-Identifier: Apache-2.0
// A strict reader of JSON text (RFC 8259) for the tests that check what lmnet writes as JSON:
// anything malformed, or trailing text, is a std::runtime_error naming the offset.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmnet::test {

struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool flag = false;
  double number = 0;
  std::string text;
  std::vector<json_value> items;                            // arrays
  std::vector<std::pair<std::string, json_value>> members;  // objects, in order

  /// The member called `key` of an object; throws if there is none.
  const json_value& operator[](std::string_view key) const {
    for (const auto& [name, value] : members) {
      if (name == key) return value;
    }
    throw std::runtime_error("json: no member '" + std::string(key) + "'");
  }
};

class json_reader {
 public:
  /// The value `text` holds, which must be all of it (whitespace aside).
  static json_value parse(std::string_view text) {
    json_reader r(text);
    json_value v = r.value();
    r.skip_space();
    if (r.at_ < text.size()) r.fail("text after the value");
    return v;
  }

 private:
  explicit json_reader(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("json: " + what + " at offset " + std::to_string(at_));
  }
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t')) {
      ++at_;
    }
  }
  char peek() {
    skip_space();
    if (at_ >= text_.size()) fail("unexpected end");
    return text_[at_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  void literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) fail("bad literal");
    at_ += word.size();
  }

  json_value value() {
    json_value v;
    const char c = peek();
    if (c == '{') {
      v.type = json_value::kind::object;
      ++at_;
      if (peek() == '}') return ++at_, v;
      while (true) {
        if (peek() != '"') fail("expected a member name");
        std::string name = string();
        expect(':');
        v.members.emplace_back(std::move(name), value());
        if (peek() == ',') {
          ++at_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.type = json_value::kind::array;
      ++at_;
      if (peek() == ']') return ++at_, v;
      while (true) {
        v.items.push_back(value());
        if (peek() == ',') {
          ++at_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.type = json_value::kind::string;
      v.text = string();
    } else if (c == 't' || c == 'f') {
      v.type = json_value::kind::boolean;
      v.flag = c == 't';
      literal(v.flag ? "true" : "false");
    } else if (c == 'n') {
      literal("null");
    } else {
      v.type = json_value::kind::number;
      v.number = number();
    }
    return v;
  }

  std::string string() {
    ++at_;  // the opening quote
    std::string s;
    while (true) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return s;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        s += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated escape");
      const char e = text_[at_++];
      if (e == 'u') {
        if (at_ + 4 > text_.size()) fail("short \\u escape");
        for (std::size_t i = 0; i < 4; ++i) {
          if (!std::isxdigit(static_cast<unsigned char>(text_[at_ + i]))) fail("bad \\u escape");
        }
        s += static_cast<char>(std::strtol(std::string(text_.substr(at_, 4)).c_str(), nullptr, 16));
        at_ += 4;
      } else if (std::string_view("\"\\/bfnrt").find(e) != std::string_view::npos) {
        s += e;
      } else {
        fail("bad escape");
      }
    }
  }

  // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  double number() {
    const std::size_t begin = at_;
    auto digits = [&] {
      const std::size_t from = at_;
      while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_]))) ++at_;
      if (at_ == from) fail("expected a digit");
      return at_ - from;
    };
    if (text_[at_] == '-') ++at_;
    const bool leading_zero = at_ < text_.size() && text_[at_] == '0';
    if (digits() > 1 && leading_zero) fail("leading zero");
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      digits();
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      digits();
    }
    return std::strtod(std::string(text_.substr(begin, at_ - begin)).c_str(), nullptr);
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace lmnet::test
