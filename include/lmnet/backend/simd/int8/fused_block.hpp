// SPDX-License-Identifier: Apache-2.0
// A bottleneck in int8, run as one step like its fp32 form (simd/fused_block_kernel.hpp walks
// it): the expansion fills rings of uint8 hidden rows, the depthwise stages read them, and the
// projection consumes their output while it is in cache.
#pragma once

#include <lmnet/backend/simd/fused_block.hpp>
#include <lmnet/backend/simd/fused_block_kernel.hpp>
#include <lmnet/backend/simd/int8/conv2d.hpp>
#include <lmnet/backend/simd/int8/depthwise_conv2d.hpp>
#include <lmnet/backend/simd/int8/gemm.hpp>
#include <lmnet/backend/simd/int8/packing.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <cstddef>
#include <cstdint>

namespace lmnet::simd {

/// Output rows [y_begin, y_end) of image n of block `f` in int8: `q` and `packs` are the plan's
/// nodes in int8 and their packing, `weights` the packed weights, `scratch` the thread's (the
/// fp32 block's offsets, in bytes). With a `channel_step`, output channel j goes to channel
/// j * channel_step of `out`.
template <class Arch>
void run_int8_fused_block(const fused_block& f, const node* nodes, const quantized_node* q,
                          const int8_packing* packs, const std::byte* weights,
                          tensor_view<const std::uint8_t> x, tensor_view<std::uint8_t> out,
                          tensor_view<const std::uint8_t> residual, int n, int y_begin, int y_end,
                          std::uint8_t* scratch, int channel_step = 1) {
  const node& proj = nodes[f.project];
  const shape mid = proj.spec.input;

  auto expand = [&](int r0, int r1, std::uint8_t* dst) {
    const node& e = nodes[f.expand];
    const int8_packing& pk = packs[f.expand];
    if (f.expand_is_conv) {
      for (int r = r0; r < r1; ++r) {
        int8_conv2d_row<Arch>(
            e.spec, q[f.expand], x, n, r,
            dst + static_cast<std::ptrdiff_t>(r - r0) * e.spec.output.width * f.hidden_pitch,
            f.hidden_pitch, 1, {}, weights + pk.offset, pk, scratch + f.patch_offset);
      }
      return;
    }
    int8_gemm_args g;
    g.a = &x(n, r0, 0, 0);
    g.a_stride = x.channel_stride;
    g.rows = (r1 - r0) * x.width;
    g.packed = weights + pk.offset;
    g.layout = pk.gemm;
    g.c = dst;
    g.c_stride = f.hidden_pitch;
    g.out_zero = q[f.expand].output.zero_point;
    g.clamp = q[f.expand].clamp;
    int8_gemm<Arch>(g);
  };

  auto stage = [&](int b, int j, const std::uint8_t* const* rows, std::ptrdiff_t in_stride,
                   std::uint8_t* dst, std::ptrdiff_t dst_stride) {
    const int i = f.branches[static_cast<std::size_t>(b)].nodes[static_cast<std::size_t>(j)];
    const layer_spec& s = nodes[i].spec;
    int8_depthwise_row_args d;
    d.rows = rows;
    d.in_stride = in_stride;
    d.in_width = s.input.width;
    d.out = dst;
    d.out_stride = dst_stride;
    d.out_width = s.output.width;
    d.channels = s.output.channels;
    d.packed = weights + packs[i].offset;
    d.layout = packs[i].depthwise;
    d.kernel = s.kernel.height;
    d.stride = s.stride.height;
    d.padding = s.padding.height;
    d.q = &q[i];
    int8_depthwise_row<Arch>(d);
  };

  const int8_packing& pp = packs[f.project];
  const quantized_node& qp = q[f.project];
  const int groups = proj.spec.groups;
  const int in_per_group = mid.channels / groups,
            out_per_group = proj.spec.output.channels / groups;
  auto project = [&](int y0, int y1, const std::uint8_t* mid_buffer) {
    for (int g = 0; g < groups; ++g) {
      int8_gemm_args a;
      a.a = mid_buffer + g * in_per_group;
      a.a_stride = f.project_pitch;
      a.rows = (y1 - y0) * mid.width;
      a.packed = weights + pp.offset + static_cast<std::size_t>(g) * pp.group_bytes;
      a.layout = pp.gemm;
      a.c = &out(n, y0, 0, g * out_per_group * channel_step);
      a.c_stride = out.channel_stride;
      a.c_step = channel_step;
      if (residual.data != nullptr) {
        a.residual = &residual(n, y0, 0, g * out_per_group);
        a.residual_stride = residual.channel_stride;
        a.residual_zero = qp.second.zero_point;
        a.residual_multiplier = qp.second_multiplier;
      }
      a.out_zero = qp.output.zero_point;
      a.clamp = qp.clamp;
      int8_gemm<Arch>(a);
    }
  };
  walk_fused_block<std::uint8_t>(f, nodes, x, n, y_begin, y_end, scratch, expand, stage, project);
}

}  // namespace lmnet::simd
