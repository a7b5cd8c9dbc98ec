// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/network/graph.hpp>

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace lmnet {

// Naming follows PyTorch module paths, so weights bind by `state_dict` key:
// - `sequential` is `nn.Sequential`: each child gets its index as a path segment;
// - `named` adds a named segment (a module attribute), below the index inside a `sequential`;
// - the network itself is the root module: its `named` children are its attributes, in place of
//   their index (`features`, `classifier`), the others keep their index;
// - `chain`, `residual_if`, `concat` and `sum` are code in `forward()`: they add no segment.

namespace detail {

template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

template <class T>
struct is_named : std::false_type {};

template <class T>
struct is_optional : std::false_type {};

// Lowers the children in order. Indexed children take consecutive indices; `std::array` children
// count as one child per element, disabled `when` children take none. A `named` child of the root
// (empty path) is an attribute of the network and takes its name in place of its index.
template <bool Indexed, class Tuple>
constexpr int lower_children(graph& g, const Tuple& children, int in, const path& where) {
  int index = 0;
  int x = in;
  auto one = [&](const auto& child) {
    using C = std::remove_cvref_t<decltype(child)>;
    if constexpr (is_optional<C>::value) {
      if (!child.enabled) return;
    }
    if (Indexed && !(is_named<C>::value && where.empty())) {
      x = lower(g, child, x, where.child(index));
    } else {
      x = lower(g, child, x, where);
    }
    ++index;
  };
  std::apply(
      [&](const auto&... child) {
        auto each = [&](const auto& c) {
          if constexpr (is_std_array<std::remove_cvref_t<decltype(c)>>::value) {
            for (const auto& element : c) one(element);
          } else {
            one(c);
          }
        };
        (each(child), ...);
      },
      children);
  return x;
}

}  // namespace detail

/// PyTorch `nn.Sequential`: children in order, each named by its index.
template <class... Children>
struct sequential_t {
  std::tuple<Children...> children;
  constexpr int lower(graph& g, int in, const path& where) const {
    return detail::lower_children<true>(g, children, in, where);
  }
};
template <class... Children>
constexpr sequential_t<Children...> sequential(Children... children) {
  return {{children...}};
}

/// Children in order, without adding path segments (a run of calls inside `forward()`).
template <class... Children>
struct chain_t {
  std::tuple<Children...> children;
  constexpr int lower(graph& g, int in, const path& where) const {
    return detail::lower_children<false>(g, children, in, where);
  }
};
template <class... Children>
constexpr chain_t<Children...> chain(Children... children) {
  return {{children...}};
}

/// Adds the path segment `name` (a module attribute such as `features` or `conv`), or an index
/// (an element of an `nn.ModuleList`), to `child`'s path. Inside a `sequential` the segment comes
/// after the child's index (`blocks.0.body`); as a child of the network it replaces the index.
template <class Child>
struct named_t {
  path::segment segment;
  Child child;
  constexpr int lower(graph& g, int in, const path& where) const {
    return lmnet::lower(
        g, child, in,
        segment.text.empty() ? where.child(segment.index) : where.child(segment.text));
  }
};
template <class Child>
constexpr named_t<Child> named(std::string_view name, Child child) {
  return {{name, -1}, child};
}
template <class Child>
constexpr named_t<Child> named(int index, Child child) {
  return {{{}, index}, child};
}

/// `child` when `enabled`, otherwise nothing (and no index in a `sequential`).
template <class Child>
struct when_t {
  bool enabled = true;
  Child child;
  constexpr int lower(graph& g, int in, const path& where) const {
    return enabled ? lmnet::lower(g, child, in, where) : in;
  }
};
template <class Child>
constexpr when_t<Child> when(bool enabled, Child child) {
  return {enabled, child};
}

namespace detail {
template <class T>
struct is_named<named_t<T>> : std::true_type {};
template <class T>
struct is_optional<when_t<T>> : std::true_type {};
}  // namespace detail

/// x + body(x). With `enabled == false` it is just body(x), which lets a block decide from its
/// input shape whether it has a shortcut (stride 1 and equal channels, say).
template <class Body>
struct residual_t {
  Body body;
  bool enabled = true;
  constexpr int lower(graph& g, int in, const path& where) const {
    const int out = lmnet::lower(g, body, in, where);
    return enabled ? g.add(in, out, where) : out;
  }
};
/// `residual(a, b, c)` is x + sequential(a, b, c)(x): the body's layers are indexed.
template <class... Body>
constexpr auto residual(Body... body) {
  return residual_t<sequential_t<Body...>>{sequential(body...)};
}
template <class Body>
constexpr residual_t<Body> residual_if(bool enabled, Body body) {
  return {body, enabled};
}

/// Parallel branches on one input, joined by channel concatenation (Inception).
template <class... Branches>
struct concat_t {
  std::tuple<Branches...> branches;
  constexpr int lower(graph& g, int in, const path& where) const {
    std::array<int, sizeof...(Branches)> outs{};
    std::size_t i = 0;
    std::apply([&](const auto&... b) { ((outs[i++] = lmnet::lower(g, b, in, where)), ...); },
               branches);
    return g.concat(outs, where);
  }
};
template <class... Branches>
constexpr concat_t<Branches...> concat(Branches... branches) {
  static_assert(sizeof...(Branches) >= 1 && sizeof...(Branches) <= max_node_inputs);
  return {{branches...}};
}

/// Parallel branches on one input, joined by elementwise sum.
template <class... Branches>
struct sum_t {
  std::tuple<Branches...> branches;
  constexpr int lower(graph& g, int in, const path& where) const {
    std::array<int, sizeof...(Branches)> outs{};
    std::size_t i = 0;
    std::apply([&](const auto&... b) { ((outs[i++] = lmnet::lower(g, b, in, where)), ...); },
               branches);
    int total = outs[0];
    for (std::size_t k = 1; k < outs.size(); ++k) total = g.add(total, outs[k], where);
    return total;
  }
};
template <class... Branches>
constexpr sum_t<Branches...> sum(Branches... branches) {
  static_assert(sizeof...(Branches) >= 2);
  return {{branches...}};
}

/// `first` when `condition` holds, otherwise `second` (two layouts of one block, say).
template <class First, class Second>
struct either_t {
  bool condition = true;
  First first;
  Second second;
  constexpr int lower(graph& g, int in, const path& where) const {
    return condition ? lmnet::lower(g, first, in, where) : lmnet::lower(g, second, in, where);
  }
};
template <class First, class Second>
constexpr either_t<First, Second> either(bool condition, First first, Second second) {
  return {condition, first, second};
}

/// Passes its input through (a branch that is the shortcut itself).
struct identity {
  constexpr int lower(graph&, int in, const path&) const { return in; }
};

}  // namespace lmnet
