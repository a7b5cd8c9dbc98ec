// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/node.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

namespace lmnet {

/// A compiled network: nodes in execution order, the tensors they read and write with their place
/// in the activation arena, and the offsets of each layer's folded weights. Built at compile time
/// by `compiled<Net>`. Every backend runs these nodes; one that fuses blocks keeps fewer tensors
/// and places them again in an arena of its own (place_tensors), viewing them through
/// `view(v, ..., offsets)`.
template <std::size_t NodeCount, std::size_t ValueCount, std::size_t BlockCount>
struct plan {
  std::array<node, NodeCount> nodes{};
  std::array<value, ValueCount> values{};
  std::array<block_record, BlockCount> blocks{};
  int input_value = 0;
  int output_value = 0;
  std::size_t arena_floats = 0;   // activation arena of one image, in floats
  std::size_t weight_floats = 0;  // folded weights of the whole network, in floats

  static constexpr std::size_t node_count = NodeCount;

  constexpr shape input_shape() const { return values[0].image; }
  constexpr shape output_shape() const { return value_at(output_value).image; }
  constexpr const value& value_at(int v) const { return values[static_cast<std::size_t>(v)]; }

  /// Trainable parameters, as PyTorch counts them (batch norm included, running stats not).
  constexpr std::size_t params() const {
    std::size_t total = 0;
    for (const node& n : nodes) {
      if (!has_weights(n.kind())) continue;
      const auto out = static_cast<std::size_t>(n.spec.output.channels);
      total += n.spec.weight_count() + (n.has_bias ? out : 0) + (n.has_norm ? 2 * out : 0);
    }
    return total;
  }
  /// Multiply-accumulates of one image, counting convolutions and dense layers.
  constexpr std::size_t macs() const {
    std::size_t total = 0;
    for (const node& n : nodes) total += n.spec.macs();
    return total;
  }
  /// Convolution and dense layers.
  constexpr int weight_layers() const {
    int count = 0;
    for (const node& n : nodes) count += has_weights(n.kind()) ? 1 : 0;
    return count;
  }
  constexpr std::size_t arena_bytes(int batch = 1) const {
    return arena_floats * static_cast<std::size_t>(batch) * sizeof(float);
  }

  /// Channels of the tensor that owns `v`'s memory (its row stride in floats).
  constexpr int channel_stride(int v) const {
    const value& x = value_at(v);
    return x.storage < 0 ? input_shape().channels : value_at(x.storage).image.channels;
  }

  /// The view of value `v` for a batch of `batch` images: the network input lives in the caller's
  /// `images` (never written), every other tensor in the arena, at its owner's offset.
  template <class T>
  constexpr tensor_view<T> view(int v, T* arena, const std::remove_const_t<T>* images,
                                int batch) const {
    return view_at(v, arena, images, batch, [&](int owner) { return value_at(owner).offset; });
  }
  /// The same in an arena of a backend's own: `offsets[owner]` floats per image.
  template <class T>
  constexpr tensor_view<T> view(int v, T* arena, const std::remove_const_t<T>* images, int batch,
                                std::span<const std::size_t> offsets) const {
    return view_at(v, arena, images, batch,
                   [&](int owner) { return offsets[static_cast<std::size_t>(owner)]; });
  }

 private:
  template <class T, class OffsetOf>
  constexpr tensor_view<T> view_at(int v, T* arena, const std::remove_const_t<T>* images, int batch,
                                   OffsetOf offset_of) const {
    const value& x = value_at(v);
    T* base = x.storage < 0 ? const_cast<T*>(images)
                            : arena + offset_of(x.storage) * static_cast<std::size_t>(batch);
    return {base + x.channel_offset, batch, x.image.height, x.image.width, x.image.channels,
            channel_stride(v)};
  }
};

}  // namespace lmnet
