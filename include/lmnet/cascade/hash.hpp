// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace lmnet {

namespace detail {

inline constexpr std::uint64_t xxh_prime1 = 0x9E3779B185EBCA87ull;
inline constexpr std::uint64_t xxh_prime2 = 0xC2B2AE3D27D4EB4Full;
inline constexpr std::uint64_t xxh_prime3 = 0x165667B19E3779F9ull;
inline constexpr std::uint64_t xxh_prime4 = 0x85EBCA77C2B2AE63ull;
inline constexpr std::uint64_t xxh_prime5 = 0x27D4EB2F165667C5ull;

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    v = ((v & 0x00000000000000FFull) << 56) | ((v & 0x000000000000FF00ull) << 40) |
        ((v & 0x0000000000FF0000ull) << 24) | ((v & 0x00000000FF000000ull) << 8) |
        ((v & 0x000000FF00000000ull) >> 8) | ((v & 0x0000FF0000000000ull) >> 24) |
        ((v & 0x00FF000000000000ull) >> 40) | ((v & 0xFF00000000000000ull) >> 56);
  }
  return v;
}

inline std::uint32_t load_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

inline std::uint64_t xxh_round(std::uint64_t acc, std::uint64_t lane) {
  return std::rotl(acc + lane * xxh_prime2, 31) * xxh_prime1;
}

inline std::uint64_t xxh_merge(std::uint64_t acc, std::uint64_t lane) {
  return (acc ^ xxh_round(0, lane)) * xxh_prime1 + xxh_prime4;
}

}  // namespace detail

/// XXH64 of `bytes` (Yann Collet's xxHash, 64-bit variant, written from its specification): a
/// fast non-cryptographic hash, identical on every platform, and bit-for-bit the value libxxhash's
/// XXH64 gives (the tests check it). lmnet carries its own so that it stays header-only.
inline std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed = 0) {
  using namespace detail;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t remaining = bytes.size();
  std::uint64_t acc;
  if (remaining >= 32) {
    std::uint64_t v1 = seed + xxh_prime1 + xxh_prime2, v2 = seed + xxh_prime2, v3 = seed,
                  v4 = seed - xxh_prime1;
    for (; remaining >= 32; remaining -= 32, p += 32) {
      v1 = xxh_round(v1, load_le64(p));
      v2 = xxh_round(v2, load_le64(p + 8));
      v3 = xxh_round(v3, load_le64(p + 16));
      v4 = xxh_round(v4, load_le64(p + 24));
    }
    acc = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    acc = xxh_merge(acc, v1);
    acc = xxh_merge(acc, v2);
    acc = xxh_merge(acc, v3);
    acc = xxh_merge(acc, v4);
  } else {
    acc = seed + xxh_prime5;
  }
  acc += static_cast<std::uint64_t>(bytes.size());
  for (; remaining >= 8; remaining -= 8, p += 8) {
    acc ^= xxh_round(0, load_le64(p));
    acc = std::rotl(acc, 27) * xxh_prime1 + xxh_prime4;
  }
  if (remaining >= 4) {
    acc ^= static_cast<std::uint64_t>(load_le32(p)) * xxh_prime1;
    acc = std::rotl(acc, 23) * xxh_prime2 + xxh_prime3;
    remaining -= 4;
    p += 4;
  }
  for (; remaining > 0; --remaining, ++p) {
    acc ^= static_cast<std::uint64_t>(*p) * xxh_prime5;
    acc = std::rotl(acc, 11) * xxh_prime1;
  }
  acc ^= acc >> 33;
  acc *= xxh_prime2;
  acc ^= acc >> 29;
  acc *= xxh_prime3;
  acc ^= acc >> 32;
  return acc;
}

/// XXH64 of the bytes of a span of trivially copyable values (an image, a tensor).
template <class T>
requires std::is_trivially_copyable_v<T> std::uint64_t xxh64(std::span<T> values,
                                                             std::uint64_t seed = 0) {
  return xxh64(std::as_bytes(values), seed);
}

}  // namespace lmnet
