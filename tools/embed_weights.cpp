// SPDX-License-Identifier: Apache-2.0
// lmnet_embed: turns a safetensors file into a C++ header of constant arrays, for programs that
// run where there is no file system. The header defines `<namespace>::tensors`, an array of
// lmnet::embedded_tensor (name, shape, dtype, values) for lmnet::embedded_weights:
//
//   lmnet_embed model.safetensors model_weights.hpp [--namespace model_weights]
//   lmnet_embed model.safetensors                   (lists the tensors and metadata)
//
// F32 values are written as the shortest decimal that reads back to the same float, F16 and BF16
// ones as their bit patterns, so the embedded values equal the file's exactly. PyTorch's
// num_batches_tracked counters are left out; any other tensor lmnet cannot read is an error.
#include <lmnet/io/inspect.hpp>
#include <lmnet/io/safetensors.hpp>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// A C++ string literal holding `s` byte for byte.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      char octal[5];
      std::snprintf(octal, sizeof octal, "\\%03o", u);  // exactly 3 digits: never runs on
      out += octal;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// "-0.125f", "1.0f", "3e-05f": a float literal that reads back to `v` exactly.
std::string float_literal(float v) {
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  std::string s(buffer, end);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

bool is_identifier_path(const std::string& s) {
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = std::min(s.find("::", begin), s.size());
    if (end == begin) return false;
    for (std::size_t i = begin; i < end; ++i) {
      const char c = s[i];
      const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (i > begin && c >= '0' && c <= '9');
      if (!ok) return false;
    }
    if (end == s.size()) return true;
    begin = end + 2;
  }
}

// "examples/weights/l_mobilenet.safetensors" -> "l_mobilenet_weights".
std::string default_namespace(const std::string& path) {
  std::string stem = path.substr(path.find_last_of('/') + 1);
  stem = stem.substr(0, stem.find('.'));
  std::string out;
  for (const char c : stem) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "w_" + out;
  return out + "_weights";
}

std::string header(lmnet::safetensors& file, const std::string& source, const std::string& ns) {
  std::ostringstream data, table;
  std::size_t index = 0, values = 0;
  for (const std::string& name : file.tensors().names()) {
    if (name.ends_with("num_batches_tracked")) continue;
    const lmnet::stored_tensor& t = *file.tensors().find(name);
    if (!lmnet::is_readable(t.type)) {
      throw lmnet::error(source + ": tensor '" + name + "' has dtype " +
                         std::string(lmnet::dtype_name(t.type)) + ", expected F32, F16 or BF16");
    }
    const std::size_t count = t.element_count();
    values += count;
    const std::string id = std::to_string(index++);
    std::string shape = "{}";
    if (!t.shape.empty()) {
      data << "inline constexpr std::int64_t shape_" << id << "[] = {";
      for (std::size_t i = 0; i < t.shape.size(); ++i) data << (i ? ", " : "") << t.shape[i];
      data << "};\n";
      shape = "data::shape_" + id;
    }
    std::string storage = "{}";
    if (count > 0) {
      storage = "data::values_" + id;
      const bool f32 = t.type == lmnet::dtype::f32;
      data << "alignas(64) inline constexpr " << (f32 ? "float" : "std::uint16_t") << " values_"
           << id << "[] = {";
      std::vector<float> converted(count);
      file.read(name, t.shape, converted);  // checks that the values are finite
      for (std::size_t i = 0; i < count; ++i) {
        data << (i % 8 == 0 ? "\n    " : " ");
        if (f32) {
          data << float_literal(converted[i]);
        } else {
          const auto bits = lmnet::detail::load_unsigned<std::uint16_t>(t.bytes.data() + 2 * i,
                                                                        std::endian::little);
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%04x", static_cast<unsigned>(bits));
          data << hex;
        }
        data << ',';
      }
      data << "\n};\n";
    }
    table << "    {" << quoted(name) << ", " << shape << ", ";
    if (t.type != lmnet::dtype::f32) {
      table << (t.type == lmnet::dtype::f16 ? "lmnet::dtype::f16, " : "lmnet::dtype::bf16, ");
      if (count == 0) storage = "std::span<const std::uint16_t>{}";
    } else if (count == 0) {
      storage = "std::span<const float>{}";
    }
    table << storage << "},\n";
  }

  std::ostringstream out;
  out << "// Generated by lmnet_embed from " << source << "; do not edit.\n"
      << "// " << index << " tensors, " << values << " values.\n"
      << "#pragma once\n\n#include <lmnet/io/embedded_weights.hpp>\n\n#include <array>\n"
      << "#include <cstdint>\n#include <span>\n#include <string_view>\n\n"
      << "namespace " << ns << " {\n\nnamespace data {\n\n"
      << data.str() << "\n}  // namespace data\n\n"
      << "/// The tensors of " << source << ", for lmnet::embedded_weights{" << ns
      << "::tensors}.\n"
      << "inline constexpr lmnet::embedded_tensor tensors[] = {\n"
      << table.str() << "};\n\n";
  out << "/// The file's metadata: key, value.\n"
      << "inline constexpr std::array<std::array<std::string_view, 2>, " << file.metadata().size()
      << "> metadata = {{\n";
  for (const auto& [key, value] : file.metadata()) {
    if ((key + value).find('\0') != std::string::npos) {
      throw lmnet::error(source + ": metadata '" + key + "' holds a NUL character");
    }
    out << "    {" << quoted(key) << ", " << quoted(value) << "},\n";
  }
  out << "}};\n\n}  // namespace " << ns << "\n";
  return out.str();
}

int usage() {
  std::fprintf(stderr,
               "usage: lmnet_embed <in.safetensors> [<out.hpp> [--namespace <name>]]\n"
               "  with one argument, lists the file's tensors and metadata\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string ns;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--namespace") {
      if (i + 1 >= args.size()) return usage();
      ns = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      --i;
    } else if (args[i].starts_with("-")) {
      return usage();
    }
  }
  if (args.empty() || args.size() > 2) return usage();
  try {
    lmnet::safetensors file(args[0]);
    if (args.size() == 1) {
      std::fputs(lmnet::list_tensors(file).c_str(), stdout);
      return 0;
    }
    if (ns.empty()) ns = default_namespace(args[0]);
    if (!is_identifier_path(ns)) {
      std::fprintf(stderr, "lmnet_embed: '%s' is not a C++ namespace name\n", ns.c_str());
      return 2;
    }
    const std::string source = args[0].substr(args[0].find_last_of('/') + 1);
    const std::string text = header(file, source, ns);
    std::ofstream out(args[1], std::ios::binary);
    out << text;
    out.close();
    if (!out) {
      std::fprintf(stderr, "lmnet_embed: cannot write '%s'\n", args[1].c_str());
      return 1;
    }
  } catch (const lmnet::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
