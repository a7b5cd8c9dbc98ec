// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/network/arena.hpp>
#include <lmnet/network/bottleneck.hpp>
#include <lmnet/network/graph.hpp>
#include <lmnet/network/network.hpp>
#include <lmnet/network/plan.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

namespace lmnet {

struct compile_options {
  bool fuse = true;  // activations and residual adds into their producers (batch norm always)
};

namespace detail {

constexpr value& at(graph& g, int v) {
  return g.values[static_cast<std::size_t>(v)];
}

constexpr void count_consumers(graph& g) {
  for (value& v : g.values) v.consumers = 0;
  for (const node& n : g.nodes) {
    if (n.dead) continue;
    for (int k = 0; k < n.input_count; ++k)
      ++at(g, n.inputs[static_cast<std::size_t>(k)]).consumers;
    if (n.residual >= 0) ++at(g, n.residual).consumers;
  }
}

// Node `p` takes over the output of `absorbed`, which disappears.
constexpr void absorb(graph& g, int p, node& absorbed) {
  g.nodes[static_cast<std::size_t>(p)].output = absorbed.output;
  at(g, absorbed.output).producer = p;
  absorbed.dead = true;
}

constexpr void fold_batch_norms(graph& g) {
  count_consumers(g);
  for (node& bn : g.nodes) {
    if (bn.dead || bn.kind() != op::batch_norm) continue;
    const int v = bn.input();
    const int p = at(g, v).producer;
    if (p < 0 || !has_weights(g.nodes[static_cast<std::size_t>(p)].kind()) ||
        g.nodes[static_cast<std::size_t>(p)].has_norm ||
        g.nodes[static_cast<std::size_t>(p)].spec.act != activation::none ||
        at(g, v).consumers != 1) {
      g.fail(op::batch_norm, bn.name,
             "must directly follow a convolution or dense layer whose output feeds nothing else");
      return;
    }
    node& producer = g.nodes[static_cast<std::size_t>(p)];
    producer.has_norm = true;
    producer.norm_name = bn.name;
    producer.spec.eps = bn.spec.eps;
    absorb(g, p, bn);
  }
  for (node& n : g.nodes) {
    if (!n.dead && has_weights(n.kind())) n.has_bias = n.spec.bias.resolve(n.has_norm);
  }
}

constexpr void fuse_activations(graph& g) {
  count_consumers(g);
  for (node& a : g.nodes) {
    if (a.dead || a.kind() != op::activation) continue;
    const int v = a.input();
    const int p = at(g, v).producer;
    if (p < 0) continue;
    node& producer = g.nodes[static_cast<std::size_t>(p)];
    const bool fusable = has_weights(producer.kind()) || producer.kind() == op::add;
    if (!fusable || producer.spec.act != activation::none || at(g, v).consumers != 1) continue;
    producer.spec.act = a.spec.act;
    absorb(g, p, a);
  }
}

// conv(x) + r becomes one conv whose epilogue adds r, when r is ready before the conv runs.
constexpr void fuse_residual_adds(graph& g) {
  count_consumers(g);
  for (node& add : g.nodes) {
    if (add.dead || add.kind() != op::add) continue;
    for (int side = 1; side >= 0; --side) {
      const int main = add.inputs[static_cast<std::size_t>(side)];
      const int other = add.inputs[static_cast<std::size_t>(1 - side)];
      const int p = at(g, main).producer;
      if (p < 0 || main == other) continue;
      node& producer = g.nodes[static_cast<std::size_t>(p)];
      if (!has_weights(producer.kind()) || producer.kind() == op::dense) continue;
      if (producer.spec.act != activation::none || producer.residual >= 0) continue;
      if (at(g, main).consumers != 1 || at(g, other).producer >= p) continue;
      producer.residual = other;
      producer.spec.act = add.spec.act;
      absorb(g, p, add);
      break;
    }
  }
}

constexpr void check_unique_names(graph& g) {
  struct entry {
    message name;
    op kind;  // the layer's own, or batch_norm for a folded batch norm
    const path* where;
  };
  std::vector<entry> names;
  for (const node& n : g.nodes) {
    if (n.dead || !has_weights(n.kind())) continue;
    names.push_back({n.name.rendered(), n.kind(), &n.name});
    if (n.has_norm) names.push_back({n.norm_name.rendered(), op::batch_norm, &n.norm_name});
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = i + 1; j < names.size(); ++j) {
      if (names[i].name.view() == names[j].name.view()) {
        g.fail(names[j].kind, *names[j].where,
               "another layer has the same module path; give one of them a `named(...)` segment");
        return;
      }
    }
  }
}

// Drops fused-away nodes; node indices in values and blocks follow.
constexpr void compact(graph& g) {
  std::vector<int> new_index(g.nodes.size(), -1);
  std::vector<node> live;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].dead) continue;
    new_index[i] = static_cast<int>(live.size());
    live.push_back(g.nodes[i]);
  }
  for (value& v : g.values) {
    if (v.producer >= 0) v.producer = new_index[static_cast<std::size_t>(v.producer)];
  }
  for (std::size_t b = 0; b < g.blocks.size(); ++b) {
    int first = std::numeric_limits<int>::max(), last = -1;
    for (std::size_t i = 0; i < live.size(); ++i) {
      if (live[i].block == static_cast<int>(b)) {
        first = std::min(first, static_cast<int>(i));
        last = std::max(last, static_cast<int>(i));
      }
    }
    g.blocks[b].first = last < 0 ? 0 : first;
    g.blocks[b].last = last;
  }
  g.nodes = live;
  count_consumers(g);
}

/// Everything the second pass needs to size the plan, and the first error if there is one.
struct summary {
  std::size_t nodes = 0;
  std::size_t values = 0;
  std::size_t blocks = 0;
  int output = -1;
  message error{};
};

template <class Net>
constexpr graph build(const Net& net, compile_options options, int* output) {
  graph g;
  g.nodes.reserve(256);  // growing copies every node: costly in constant evaluation
  g.values.reserve(256);
  const int in = g.input(net.input_shape);
  if (!net.input_shape.valid()) g.error << "the network input shape must be positive";
  *output = lower(g, net.layers, in, path{});
  if (!g.failed()) fold_batch_norms(g);
  if (!g.failed() && options.fuse) fuse_activations(g);
  if (!g.failed() && options.fuse) fuse_residual_adds(g);
  for (const node& n : g.nodes) {
    if (!g.failed() && !n.dead && n.kind() == op::batch_norm) {
      g.fail(op::batch_norm, n.name, "was not folded");
    }
  }
  if (!g.failed()) check_unique_names(g);
  if (!g.failed()) compact(g);
  if (!g.failed() && *output == in) g.error << "the network has no layers";
  if (!g.failed() &&
      g.nodes[static_cast<std::size_t>(g.values[static_cast<std::size_t>(*output)].producer)]
              .kind() == op::channel_slice) {
    g.error << "a network cannot end with a channel_slice (its output must own its memory)";
  }
  return g;
}

template <class Net>
constexpr summary summarize(const Net& net, compile_options options) {
  int output = -1;
  const graph g = build(net, options, &output);
  if (g.failed()) return {.error = g.error};
  return {g.nodes.size(), g.values.size(), g.blocks.size(), output, {}};
}

// Channel slices become views; concat inputs are written in place when their producer writes
// nothing else; then every tensor that owns memory gets an arena offset (greedy by size, sharing
// memory between tensors whose lifetimes do not overlap).
template <class Plan>
constexpr void plan_memory(Plan& p) {
  auto& values = p.values;
  auto val = [&](int v) -> value& { return values[static_cast<std::size_t>(v)]; };
  for (std::size_t v = 0; v < values.size(); ++v) values[v].storage = static_cast<int>(v);
  val(p.input_value).storage = -1;

  for (node& n : p.nodes) {
    if (n.kind() != op::channel_slice) continue;
    const value& in = val(n.input());
    val(n.output).storage = in.storage;
    val(n.output).channel_offset = in.channel_offset + n.spec.channel_begin;
    n.elided = true;
  }
  for (node& n : p.nodes) {
    if (n.kind() != op::concat) continue;
    int channel = 0;
    bool all_in_place = true;
    for (int k = 0; k < n.input_count; ++k) {
      const int v = n.inputs[static_cast<std::size_t>(k)];
      value& x = val(v);
      bool repeated = false;
      for (int j = 0; j < n.input_count; ++j) {
        repeated = repeated || (j != k && n.inputs[static_cast<std::size_t>(j)] == v);
      }
      const bool writable = x.producer >= 0 &&
                            !p.nodes[static_cast<std::size_t>(x.producer)].elided &&
                            p.nodes[static_cast<std::size_t>(x.producer)].kind() != op::concat &&
                            x.storage == v && x.consumers == 1 && !repeated;
      if (writable) {
        x.storage = n.output;
        x.channel_offset = channel;
      } else {
        all_in_place = false;
      }
      channel += x.image.channels;
    }
    n.elided = all_in_place;
  }

  // Lifetimes of owners, in node positions.
  constexpr int forever = std::numeric_limits<int>::max();
  std::vector<int> first(values.size(), forever), last(values.size(), -1);
  std::vector<bool> owner(values.size(), false);
  std::vector<bool> produced(values.size(), false);
  for (const node& n : p.nodes) produced[static_cast<std::size_t>(n.output)] = true;
  for (std::size_t v = 0; v < values.size(); ++v) {
    const int s = values[v].storage;
    if (s < 0 || !produced[v]) continue;
    owner[static_cast<std::size_t>(s)] = true;
    first[static_cast<std::size_t>(s)] =
        std::min(first[static_cast<std::size_t>(s)], values[v].producer);
  }
  // A backend may run a bottleneck as one kernel, which reads its tensors until its last node.
  std::vector<int> bottleneck_last(p.nodes.size(), -1);
  for_each_bottleneck(p, [&](const bottleneck& b) {
    for (int i = b.first; i <= b.last; ++i) bottleneck_last[static_cast<std::size_t>(i)] = b.last;
  });
  for (std::size_t i = 0; i < p.nodes.size(); ++i) {
    const node& n = p.nodes[i];
    if (n.elided) continue;
    const int until = std::max(static_cast<int>(i), bottleneck_last[i]);
    auto reads = [&](int v) {
      const int s = val(v).storage;
      if (s >= 0)
        last[static_cast<std::size_t>(s)] = std::max(last[static_cast<std::size_t>(s)], until);
    };
    for (int k = 0; k < n.input_count; ++k) reads(n.inputs[static_cast<std::size_t>(k)]);
    if (n.residual >= 0) reads(n.residual);
  }
  if (val(p.output_value).storage >= 0)
    last[static_cast<std::size_t>(val(p.output_value).storage)] = forever;

  std::vector<int> owners;
  std::vector<tensor_lifetime> lifetimes;
  for (std::size_t v = 0; v < values.size(); ++v) {
    if (!owner[v]) continue;
    owners.push_back(static_cast<int>(v));
    lifetimes.push_back({values[v].image.size(), first[v], last[v]});
  }
  std::vector<std::size_t> offsets(owners.size());
  p.arena_floats = place_tensors(lifetimes, offsets);
  for (std::size_t k = 0; k < owners.size(); ++k) {
    values[static_cast<std::size_t>(owners[k])].offset = offsets[k];
  }
}

template <class Plan>
constexpr void plan_weights(Plan& p) {
  std::size_t cursor = 0;
  for (node& n : p.nodes) {
    if (!has_weights(n.kind())) continue;
    n.weight_offset = cursor;
    cursor += round_up(n.spec.weight_count(), 16);
    n.bias_offset = cursor;
    cursor += round_up(static_cast<std::size_t>(n.spec.output.channels), 16);
  }
  p.weight_floats = cursor;
}

template <std::size_t N, std::size_t V, std::size_t B, class Net>
constexpr plan<N, V, B> finish(const Net& net, compile_options options) {
  plan<N, V, B> p{};
  if constexpr (N > 0) {
    int output = -1;
    const graph g = build(net, options, &output);
    for (std::size_t i = 0; i < N; ++i) p.nodes[i] = g.nodes[i];
    for (std::size_t i = 0; i < V; ++i) p.values[i] = g.values[i];
    for (std::size_t i = 0; i < B; ++i) p.blocks[i] = g.blocks[i];
    p.input_value = 0;
    p.output_value = output;
    plan_memory(p);
    plan_weights(p);
  }
  return p;
}

}  // namespace detail

/// Instantiated when a network description is invalid. The compiler prints the template argument:
/// it names the layer (by module path and type) and says what is wrong with it.
template <detail::message Reason>
struct network_error {
  static_assert(Reason.empty(),
                "lmnet: invalid network description; the reason is the text in the template "
                "argument of lmnet::network_error above");
  static constexpr bool ok = true;
};

/// The compiled form of the network description `Net` (a constexpr variable), with the options
/// used to compile it. Invalid descriptions fail to compile with a message that names the layer.
template <const auto& Net, compile_options Options = compile_options{}>
struct compiled {
  static constexpr detail::summary summary = detail::summarize(Net, Options);
  static_assert(network_error<summary.error>::ok);
  static constexpr auto plan =
      detail::finish<summary.nodes, summary.values, summary.blocks>(Net, Options);
};

/// The compiled plan of a network description: shapes, parameters, MACs, arena size.
template <const auto& Net, compile_options Options = compile_options{}>
inline constexpr const auto& plan_of = compiled<Net, Options>::plan;

}  // namespace lmnet
