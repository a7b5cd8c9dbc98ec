// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace lmnet {

/// Element types of stored tensors, as safetensors names them. lmnet computes in fp32 and converts
/// F32, F16 and BF16 tensors on loading; the others are known so that a file holding them
/// (PyTorch's I64 `num_batches_tracked`, say) can be parsed and its other tensors read.
enum class dtype : std::uint8_t {
  boolean,
  u8,
  i8,
  f8_e5m2,
  f8_e4m3,
  i16,
  u16,
  f16,
  bf16,
  i32,
  u32,
  f32,
  f64,
  i64,
  u64,
};

namespace detail {

struct dtype_info {
  dtype type;
  std::string_view name;
  std::size_t size;
};

inline constexpr std::array<dtype_info, 15> dtypes{{
    {dtype::boolean, "BOOL", 1},
    {dtype::u8, "U8", 1},
    {dtype::i8, "I8", 1},
    {dtype::f8_e5m2, "F8_E5M2", 1},
    {dtype::f8_e4m3, "F8_E4M3", 1},
    {dtype::i16, "I16", 2},
    {dtype::u16, "U16", 2},
    {dtype::f16, "F16", 2},
    {dtype::bf16, "BF16", 2},
    {dtype::i32, "I32", 4},
    {dtype::u32, "U32", 4},
    {dtype::f32, "F32", 4},
    {dtype::f64, "F64", 8},
    {dtype::i64, "I64", 8},
    {dtype::u64, "U64", 8},
}};

}  // namespace detail

/// "F32", "BF16"...: the safetensors spelling.
constexpr std::string_view dtype_name(dtype t) {
  return detail::dtypes[static_cast<std::size_t>(t)].name;
}

/// Bytes per element.
constexpr std::size_t dtype_size(dtype t) {
  return detail::dtypes[static_cast<std::size_t>(t)].size;
}

/// The dtype spelled `name` ("F32"), or nothing.
constexpr std::optional<dtype> parse_dtype(std::string_view name) {
  for (const detail::dtype_info& d : detail::dtypes) {
    if (d.name == name) return d.type;
  }
  return std::nullopt;
}

/// Whether lmnet converts tensors of this dtype to fp32.
constexpr bool is_readable(dtype t) {
  return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16;
}

/// IEEE 754 binary16 to fp32, exactly (every half value is a float).
constexpr float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {  // infinity or NaN
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    bits = sign;
  } else {  // subnormal: shift the leading one into the implicit bit
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

/// bfloat16 to fp32: the upper half of a float.
constexpr float bfloat16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

namespace detail {

/// An unsigned integer of `sizeof(T)` bytes stored in byte order `order`.
template <class T>
T load_unsigned(const std::byte* p, std::endian order) {
  T value = 0;
  if (order == std::endian::little) {
    for (std::size_t i = sizeof(T); i-- > 0;)
      value = static_cast<T>((value << 8) | static_cast<T>(p[i]));
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i)
      value = static_cast<T>((value << 8) | static_cast<T>(p[i]));
  }
  return value;
}

/// Converts `out.size()` elements of F32, F16 or BF16 stored in byte order `order` to fp32.
inline void convert_to_float(dtype type, std::span<const std::byte> bytes, std::endian order,
                             std::span<float> out) {
  if (type == dtype::f32 && order == std::endian::native) {
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return;
  }
  const std::size_t size = dtype_size(type);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::byte* p = bytes.data() + i * size;
    if (type == dtype::f32) {
      out[i] = std::bit_cast<float>(load_unsigned<std::uint32_t>(p, order));
    } else if (type == dtype::f16) {
      out[i] = half_to_float(load_unsigned<std::uint16_t>(p, order));
    } else {
      out[i] = bfloat16_to_float(load_unsigned<std::uint16_t>(p, order));
    }
  }
}

}  // namespace detail

}  // namespace lmnet
