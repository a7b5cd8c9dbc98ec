// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>
#include <lmnet/network/path.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace lmnet {

/// Most inputs a concat may join.
inline constexpr int max_node_inputs = 8;

/// Composite blocks that backends may run as one fused kernel.
enum class block_kind : std::uint8_t { none, inverted_residual, l_bottleneck, shuffle_unit };

/// A tensor of the compiled network. Values that do not own memory are views of a channel range
/// of their `storage` (channel slices, and inputs written in place into a concat's output).
struct value {
  shape image{};           // per-image shape
  int producer = -1;       // node index; -1 for the network input
  int storage = -1;        // value that owns the memory (itself when it owns); -1: network input
  int channel_offset = 0;  // first channel inside the storage
  int consumers = 0;       // reads by live nodes, a residual epilogue included
  std::size_t offset = 0;  // owners: per-image float offset in the arena
};

/// One operation of a compiled network, with BatchNorm, activation and residual add already fused
/// into it where possible.
struct node {
  layer_spec spec{};
  std::array<int, max_node_inputs> inputs{};
  int input_count = 0;
  int output = -1;
  int residual = -1;  // value added before the activation, or -1
  path name{};        // module path of its weights (`<name>.weight`)
  path norm_name{};   // module path of the folded batch norm
  bool has_norm = false;
  bool has_bias = false;          // `<name>.bias` exists in the weight file
  bool elided = false;            // a view (slice) or an in-place concat: nothing to compute
  bool dead = false;              // removed by fusion (only while compiling)
  int block = -1;                 // innermost enclosing block, or -1
  std::size_t weight_offset = 0;  // canonical folded weights, see io/bind.hpp
  std::size_t bias_offset = 0;

  constexpr op kind() const { return spec.kind; }
  constexpr int input() const { return inputs[0]; }
};

struct block_record {
  block_kind kind = block_kind::none;
  int first = 0;  // first node
  int last = 0;   // last node, inclusive
};

}  // namespace lmnet
