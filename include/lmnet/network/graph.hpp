// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/add.hpp>
#include <lmnet/layers/concat.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/network/path.hpp>

#include <array>
#include <concepts>
#include <span>
#include <vector>

namespace lmnet {

/// The network under construction, during constant evaluation: descriptions lower themselves into
/// it, node by node. The first failure is kept with the layer's path; later calls do nothing.
class graph {
 public:
  std::vector<node> nodes;
  std::vector<value> values;
  std::vector<block_record> blocks;
  detail::message error;

  constexpr int input(shape image) {
    values.push_back({.image = image});
    return static_cast<int>(values.size()) - 1;
  }
  constexpr shape shape_of(int v) const { return values[static_cast<std::size_t>(v)].image; }
  constexpr bool failed() const { return !error.empty(); }

  /// Appends a single-input layer whose shape rule gave `spec` (and `why`, if it failed);
  /// returns its output value.
  constexpr int append(const layer_spec& spec, const detail::message& why, int in,
                       const path& where) {
    return append(spec, why, std::span<const int>(&in, 1), where);
  }

  /// Appends a layer reading `inputs` (add, concat); returns its output value.
  constexpr int append(const layer_spec& spec, const detail::message& why,
                       std::span<const int> inputs, const path& where) {
    if (failed()) return inputs[0];
    if (!why.empty()) {
      fail(spec.kind, where, why.view());
      return inputs[0];
    }
    if (inputs.size() > static_cast<std::size_t>(max_node_inputs)) {
      fail(spec.kind, where, "too many inputs to join");
      return inputs[0];
    }
    node n{.spec = spec, .name = where, .block = current_block_};
    for (int v : inputs) n.inputs[static_cast<std::size_t>(n.input_count++)] = v;
    values.push_back({.image = spec.output, .producer = static_cast<int>(nodes.size())});
    n.output = static_cast<int>(values.size()) - 1;
    nodes.push_back(n);
    return n.output;
  }

  /// Appends a layer descriptor (anything satisfying `Layer`) reading `in`.
  template <class L>
  constexpr int append_layer(const L& layer, int in, const path& where) {
    detail::message why;
    const layer_spec spec = layer.apply(shape_of(in), why);
    return append(spec, why, in, where);
  }

  constexpr int add(int a, int b, const path& where) {
    const int ins[2] = {a, b};
    detail::message why;
    const layer_spec spec = add_rule(shape_of(a), shape_of(b), why);
    return append(spec, why, ins, where);
  }

  constexpr int concat(std::span<const int> inputs, const path& where) {
    std::array<shape, max_node_inputs> shapes{};
    const std::size_t n = inputs.size() < shapes.size() ? inputs.size() : shapes.size();
    for (std::size_t i = 0; i < n; ++i) shapes[i] = shape_of(inputs[i]);
    detail::message why;
    const layer_spec spec = concat_rule(std::span<const shape>(shapes.data(), n), why);
    return append(spec, why, inputs, where);
  }

  /// Marks the nodes appended until `end_block` as one composite block.
  constexpr int begin_block(block_kind kind) {
    const int outer = current_block_;
    blocks.push_back({kind, static_cast<int>(nodes.size()), 0});
    current_block_ = static_cast<int>(blocks.size()) - 1;
    return outer;
  }
  constexpr void end_block(int outer) {
    blocks[static_cast<std::size_t>(current_block_)].last = static_cast<int>(nodes.size()) - 1;
    current_block_ = outer;
  }

  constexpr void fail(op kind, const path& where, std::string_view why) {
    if (failed()) return;
    error << "layer '";
    where.render(error);
    error << "' (" << op_name(kind) << "): " << why;
  }

 private:
  int current_block_ = -1;
};

/// A description with its own lowering (combinators such as `sequential`).
template <class D>
concept Lowerable = requires(const D& d, graph& g, int in, const path& p) {
  { d.lower(g, in, p) } -> std::same_as<int>;
};

/// A composite block described by the layers it is made of, given its input shape.
template <class D>
concept Block = requires(const D& d, shape in) {
  d.structure(in);
  { D::kind } -> std::convertible_to<block_kind>;
};

/// Appends `description` to `g`, reading value `in` under module path `where`; returns the output.
template <class D>
constexpr int lower(graph& g, const D& description, int in, const path& where) {
  if constexpr (Lowerable<D>) {
    return description.lower(g, in, where);
  } else if constexpr (Block<D>) {
    const int outer = g.begin_block(D::kind);
    const int out = lower(g, description.structure(g.shape_of(in)), in, where);
    g.end_block(outer);
    return out;
  } else {
    static_assert(Layer<D>, "lmnet: not a layer, block or combinator");
    return g.append_layer(description, in, where);
  }
}

}  // namespace lmnet
