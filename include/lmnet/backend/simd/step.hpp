// SPDX-License-Identifier: Apache-2.0
// One step of a simd schedule: a layer, a whole bottleneck block, or the copy that brings a
// concat input into its shuffled place.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lmnet::simd {

enum class step_kind : std::uint8_t {
  layer,         // one node, by its kernel<backend::simd<Arch>, op>
  fused_block,   // a bottleneck run tile by tile (fused_block.hpp)
  strided_copy,  // a concat input that no layer produces, copied into its shuffled place
};

struct step {
  step_kind kind = step_kind::layer;
  int node = -1;   // the layer; for a fused block, its projection; for a copy, the shuffle
  int block = -1;  // index into schedule::blocks for fused blocks
  bool parallel = false;
  // A concat followed by a channel shuffle is never materialised: the layers producing its
  // inputs write straight into the shuffle's output, channel j of input i at i + j * step (a
  // strided_copy brings the inputs no layer produces). See shuffle_folding.hpp.
  int write = -1;  // value whose memory receives the output instead of the node's own
  int channel_offset = 0;
  int channel_step = 1;
  int source = -1;  // strided_copy: the value copied
};

namespace detail {

// Work (multiply-accumulates and outputs) below which a step runs on one thread.
inline constexpr std::size_t parallel_threshold = 32768;

}  // namespace detail

}  // namespace lmnet::simd
