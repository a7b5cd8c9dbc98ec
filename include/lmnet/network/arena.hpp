// SPDX-License-Identifier: Apache-2.0
// Where each tensor lives in the activation arena: the one placement the plan and every backend
// use, whichever tensors they keep.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace lmnet {

/// Floats a tensor's offset and size are rounded to: 64-byte aligned tensors.
inline constexpr std::size_t arena_alignment = 16;

constexpr std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

/// A tensor to place: its floats per image, and the steps [first, last] during which it is alive.
struct tensor_lifetime {
  std::size_t floats = 0;
  int first = 0;
  int last = 0;

  constexpr bool overlaps(const tensor_lifetime& other) const {
    return !(last < other.first || other.last < first);
  }
};

/// Gives each tensor an offset (floats per image) such that two tensors alive at the same time
/// never share memory; returns the arena's size. Greedy: the largest first, each at the lowest
/// offset that no tensor placed before it and alive at the same time occupies.
constexpr std::size_t place_tensors(std::span<const tensor_lifetime> tensors,
                                    std::span<std::size_t> offsets) {
  std::vector<int> order;
  for (std::size_t t = 0; t < tensors.size(); ++t) order.push_back(static_cast<int>(t));
  auto at = [&](int t) -> const tensor_lifetime& { return tensors[static_cast<std::size_t>(t)]; };
  auto offset = [&](int t) -> std::size_t& { return offsets[static_cast<std::size_t>(t)]; };
  std::sort(order.begin(), order.end(), [&](int a, int b) { return at(a).floats > at(b).floats; });
  std::vector<int> placed;
  std::size_t arena = 0;
  for (int t : order) {
    const std::size_t size = round_up(at(t).floats, arena_alignment);
    std::size_t here = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (int q : placed) {
        const std::size_t q_end = offset(q) + round_up(at(q).floats, arena_alignment);
        if (at(q).overlaps(at(t)) && here < q_end && offset(q) < here + size) {
          here = q_end;
          moved = true;
        }
      }
    }
    offset(t) = here;
    placed.push_back(t);
    arena = std::max(arena, here + size);
  }
  return arena;
}

}  // namespace lmnet
