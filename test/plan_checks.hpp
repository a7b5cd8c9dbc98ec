// SPDX-License-Identifier: Apache-2.0
// Independent checks of a compiled plan's invariants, shared by the network and model tests.
#pragma once

#include <lmnet/network/plan.hpp>

#include <string>

namespace lmnet::test {

/// Simulates the plan: every node must read values already produced, and writing a node's output
/// must not clobber any tensor that is still to be read (or is the network's output). Returns a
/// description of the first violation, or "".
template <class Plan>
std::string check_plan(const Plan& p) {
  const auto n_nodes = static_cast<int>(p.nodes.size());
  auto reads = [&](int j, int v) {
    const node& n = p.nodes[static_cast<std::size_t>(j)];
    if (n.elided) return false;
    for (int k = 0; k < n.input_count; ++k) {
      if (n.inputs[static_cast<std::size_t>(k)] == v) return true;
    }
    return n.residual == v;
  };
  auto needed_from = [&](int i, int v) {
    if (v == p.output_value) return true;
    for (int j = i; j < n_nodes; ++j) {
      if (reads(j, v)) return true;
    }
    return false;
  };
  auto arena_range = [&](int storage, std::size_t& begin, std::size_t& end) {
    const value& s = p.value_at(storage);
    begin = s.offset;
    end = s.offset + s.image.size();
  };
  for (int i = 0; i < n_nodes; ++i) {
    const node& n = p.nodes[static_cast<std::size_t>(i)];
    for (int k = 0; k < n.input_count; ++k) {
      const int producer = p.value_at(n.inputs[static_cast<std::size_t>(k)]).producer;
      if (producer >= i) return "node " + std::to_string(i) + " reads a value produced later";
    }
    if (n.elided) continue;
    const int out = n.output;
    const int so = p.value_at(out).storage;
    if (so < 0) return "node " + std::to_string(i) + " writes the network input";
    for (std::size_t v = 0; v < p.values.size(); ++v) {
      const int vi = static_cast<int>(v);
      const value& x = p.values[v];
      if (vi == out || x.storage < 0 || x.producer < 0 || x.producer >= i) continue;
      if (!needed_from(i, vi)) continue;
      if (x.storage == so) {
        // A concat writes only the slots of inputs that are not already in place.
        const int a0 = x.channel_offset, a1 = a0 + x.image.channels;
        int slot = p.value_at(out).channel_offset;
        for (int k = 0; k < (n.kind() == op::concat ? n.input_count : 1); ++k) {
          const value& in =
              p.value_at(n.kind() == op::concat ? n.inputs[static_cast<std::size_t>(k)] : out);
          const int width =
              n.kind() == op::concat ? in.image.channels : p.value_at(out).image.channels;
          const bool written = n.kind() != op::concat || in.storage != so;
          if (written && a0 < slot + width && slot < a1) {
            return "node " + std::to_string(i) + " overwrites channels of live value " +
                   std::to_string(vi);
          }
          slot += width;
        }
        continue;
      }
      std::size_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      arena_range(x.storage, a0, a1);
      arena_range(so, b0, b1);
      if (a0 < b1 && b0 < a1) {
        return "node " + std::to_string(i) + " (" + op_name(n.kind()) + ") overwrites live value " +
               std::to_string(vi);
      }
      if (a1 > p.arena_floats || b1 > p.arena_floats) return "tensor outside the arena";
    }
  }
  return "";
}

}  // namespace lmnet::test
