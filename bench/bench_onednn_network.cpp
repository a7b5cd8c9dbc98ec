// SPDX-License-Identifier: Apache-2.0
// oneDNN running whole networks as a chain of primitives, built by walking lmnet's compiled plan
// (plan_of<Net>) on lmnet's folded weights (batch norm folded): each weight layer one
// convolution or inner product primitive with its activation as an eltwise post-op (ReLU, clip
// for ReLU6) and a residual add as a sum post-op into the residual's buffer when nothing reads it
// afterwards (a binary add post-op otherwise); pooling, concat, shuffle and reorder primitives for
// the rest. Activations are NHWC, as lmnet's; weights are reordered once into the layout each
// primitive asks for (format_tag::any). A channel slice is a reorder of a sub-memory into a tensor
// of its own. Threads: OpenMP (omp_set_num_threads). Timed like bench_simd's networks;
// --agreement compares outputs with lmnet's.
#include "network_peer.hpp"

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace lmnet;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

std::string version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

dnnl::memory::dim pad_after(int in, int out, int kernel, int stride, int pad) {
  return (out - 1) * stride + kernel - in - pad;
}

template <const auto& Net>
class onednn_network {
 public:
  onednn_network(std::span<const float> folded, int threads)
      : threads_(threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    omp_set_num_threads(threads_);
    constexpr auto& plan = plan_of<Net>;
    // The last node that reads each value: a residual read last by its add may be overwritten.
    std::vector<int> last_read(plan.values.size(), -1);
    for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
      const node& n = plan.nodes[i];
      for (int k = 0; k < n.input_count; ++k)
        last_read[static_cast<std::size_t>(n.inputs[static_cast<std::size_t>(k)])] =
            static_cast<int>(i);
      if (n.residual >= 0) last_read[static_cast<std::size_t>(n.residual)] = static_cast<int>(i);
    }
    memories_.resize(plan.values.size());
    auto desc_of = [&](int v) {
      const shape s = plan.value_at(v).image;
      return dnnl::memory::desc({1, s.channels, s.height, s.width}, dt::f32, tag::nhwc);
    };
    auto mem = [&](int v) -> dnnl::memory& { return memories_[static_cast<std::size_t>(v)]; };
    mem(plan.input_value) = dnnl::memory(desc_of(plan.input_value), engine_, DNNL_MEMORY_NONE);

    for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
      const node& n = plan.nodes[i];
      const layer_spec& s = n.spec;
      const dnnl::memory::desc out_desc = desc_of(n.output);
      const bool in_place = n.residual >= 0 && n.residual != plan.input_value &&
                            n.residual != plan.output_value &&
                            last_read[static_cast<std::size_t>(n.residual)] == static_cast<int>(i);
      mem(n.output) = in_place ? dnnl::memory(out_desc, engine_, mem(n.residual).get_data_handle())
                               : dnnl::memory(out_desc, engine_);
      // act(layer + residual): the residual first (sum or binary add), then the activation.
      dnnl::post_ops post;
      std::unordered_map<int, dnnl::memory> args;
      if (n.residual >= 0 && in_place) {
        post.append_sum(1.0f);
      } else if (n.residual >= 0) {
        post.append_binary(dnnl::algorithm::binary_add, desc_of(n.residual));
        args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = mem(n.residual);
      }
      if (s.act == activation::relu)
        post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      if (s.act == activation::relu6)
        post.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(post);
      const dnnl::memory::dim o = s.output.channels;
      const float* w = folded.data() + n.weight_offset;
      const float* b = folded.data() + n.bias_offset;
      switch (n.kind()) {
        case op::conv2d:
        case op::pointwise_conv2d:
        case op::depthwise_conv2d: {
          const dnnl::memory::dim g = s.groups, ci = s.input.channels;
          const dims w_dims = g > 1 ? dims{g, o / g, ci / g, s.kernel.height, s.kernel.width}
                                    : dims{o, ci, s.kernel.height, s.kernel.width};
          const dnnl::convolution_forward::desc d(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
              desc_of(n.input()), dnnl::memory::desc(w_dims, dt::f32, tag::any),
              dnnl::memory::desc({o}, dt::f32, tag::x), out_desc, {s.stride.height, s.stride.width},
              {s.padding.height, s.padding.width},
              {pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                         s.padding.height),
               pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                         s.padding.width)});
          const dnnl::convolution_forward::primitive_desc pd(d, attr, engine_);
          // lmnet's (O, KH, KW, I/g) is ohwi, or gohwi with groups.
          args[DNNL_ARG_WEIGHTS] =
              constant(dnnl::memory::desc(w_dims, dt::f32, g > 1 ? tag::gohwi : tag::ohwi), w,
                       pd.weights_desc());
          args[DNNL_ARG_BIAS] = constant(dnnl::memory::desc({o}, dt::f32, tag::x), b,
                                         dnnl::memory::desc({o}, dt::f32, tag::x));
          add(dnnl::convolution_forward(pd), args, n.input(), n.output);
          break;
        }
        case op::dense: {
          // lmnet's (O, H*W*C) in (h, w, c) order is ohwi over the 4-D input.
          const dims w_dims{o, s.input.channels, s.input.height, s.input.width};
          const dnnl::memory::desc dst({1, o}, dt::f32, tag::nc);
          const dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference,
                                                    desc_of(n.input()),
                                                    dnnl::memory::desc(w_dims, dt::f32, tag::any),
                                                    dnnl::memory::desc({o}, dt::f32, tag::x), dst);
          const dnnl::inner_product_forward::primitive_desc pd(d, attr, engine_);
          args[DNNL_ARG_WEIGHTS] =
              constant(dnnl::memory::desc(w_dims, dt::f32, tag::ohwi), w, pd.weights_desc());
          args[DNNL_ARG_BIAS] = constant(dnnl::memory::desc({o}, dt::f32, tag::x), b,
                                         dnnl::memory::desc({o}, dt::f32, tag::x));
          args[DNNL_ARG_DST] = dnnl::memory(dst, engine_, mem(n.output).get_data_handle());
          add(dnnl::inner_product_forward(pd), args, n.input(), -1);
          break;
        }
        case op::global_avg_pool:
        case op::max_pool2d: {
          const bool avg = n.kind() == op::global_avg_pool;
          const dims kernel =
              avg ? dims{s.input.height, s.input.width} : dims{s.kernel.height, s.kernel.width};
          const dims stride = avg ? dims{1, 1} : dims{s.stride.height, s.stride.width};
          const dims pad = avg ? dims{0, 0} : dims{s.padding.height, s.padding.width};
          const dims pad_r = avg ? dims{0, 0}
                                 : dims{pad_after(s.input.height, s.output.height, s.kernel.height,
                                                  s.stride.height, s.padding.height),
                                        pad_after(s.input.width, s.output.width, s.kernel.width,
                                                  s.stride.width, s.padding.width)};
          const dnnl::pooling_forward::desc d(
              dnnl::prop_kind::forward_inference,
              avg ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max,
              desc_of(n.input()), out_desc, stride, kernel, pad, pad_r);
          add(dnnl::pooling_forward(dnnl::pooling_forward::primitive_desc(d, attr, engine_)), args,
              n.input(), n.output);
          break;
        }
        case op::add: {
          const dnnl::binary::desc d(dnnl::algorithm::binary_add, desc_of(n.inputs[0]),
                                     desc_of(n.inputs[1]), out_desc);
          args[DNNL_ARG_SRC_1] = mem(n.inputs[1]);
          add(dnnl::binary(dnnl::binary::primitive_desc(d, attr, engine_)), args, n.inputs[0],
              n.output);
          break;
        }
        case op::activation: {
          const bool six = s.act == activation::relu6;
          const dnnl::eltwise_forward::desc d(
              dnnl::prop_kind::forward_inference,
              six ? dnnl::algorithm::eltwise_clip : dnnl::algorithm::eltwise_relu,
              desc_of(n.input()), 0.0f, six ? 6.0f : 0.0f);
          add(dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, engine_)), args,
              n.input(), n.output);
          break;
        }
        case op::concat: {
          std::vector<dnnl::memory::desc> sources;
          for (int k = 0; k < n.input_count; ++k) {
            const int v = n.inputs[static_cast<std::size_t>(k)];
            sources.push_back(desc_of(v));
            args[DNNL_ARG_MULTIPLE_SRC + k] = mem(v);
          }
          args[DNNL_ARG_DST] = mem(n.output);
          steps_.push_back(
              {dnnl::concat(dnnl::concat::primitive_desc(out_desc, 1, sources, engine_)), args});
          break;
        }
        case op::channel_slice: {
          const shape in = plan.value_at(n.input()).image;
          const dnnl::memory::desc part = desc_of(n.input()).submemory_desc(
              {1, s.output.channels, in.height, in.width}, {0, s.channel_begin, 0, 0});
          const dnnl::memory source(part, engine_, mem(n.input()).get_data_handle());
          steps_.push_back({dnnl::reorder(source, mem(n.output)),
                            {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, mem(n.output)}}});
          break;
        }
        case op::channel_shuffle: {
          // oneDNN's group size is the channels per group: lmnet's (and PyTorch's) groups
          // split the channels into `groups` groups of C / groups.
          const dnnl::shuffle_forward::desc d(dnnl::prop_kind::forward_inference,
                                              desc_of(n.input()), 1, s.input.channels / s.groups);
          add(dnnl::shuffle_forward(dnnl::shuffle_forward::primitive_desc(d, engine_)), args,
              n.input(), n.output);
          break;
        }
        case op::softmax: {
          const dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference,
                                              desc_of(n.input()), 1);
          add(dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, engine_)), args,
              n.input(), n.output);
          break;
        }
        default:
          throw bench::unsupported(std::string("no oneDNN primitive for ") + op_name(n.kind()));
      }
    }
    output_ = static_cast<const float*>(mem(plan.output_value).get_data_handle());
    stream_.wait();
  }

  std::span<const float> run(const float* image) {
    omp_set_num_threads(threads_);
    memories_[static_cast<std::size_t>(plan_of<Net>.input_value)].set_data_handle(
        const_cast<float*>(image));
    for (auto& [p, args] : steps_) p.execute(stream_, args);
    stream_.wait();
    return {output_, plan_of<Net>.output_shape().size()};
  }

 private:
  // A weight tensor in lmnet's layout, reordered once into the layout the primitive wants.
  dnnl::memory constant(const dnnl::memory::desc& user, const float* data,
                        const dnnl::memory::desc& wanted) {
    dnnl::memory from(user, engine_, const_cast<float*>(data));
    dnnl::memory to(wanted, engine_);
    dnnl::reorder(from, to).execute(stream_, from, to);
    stream_.wait();
    return to;
  }
  void add(dnnl::primitive p, std::unordered_map<int, dnnl::memory>& args, int input, int output) {
    args[DNNL_ARG_SRC] = memories_[static_cast<std::size_t>(input)];
    if (output >= 0) args[DNNL_ARG_DST] = memories_[static_cast<std::size_t>(output)];
    steps_.push_back({std::move(p), args});
  }

  struct step {
    dnnl::primitive primitive;
    std::unordered_map<int, dnnl::memory> args;
  };
  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<dnnl::memory> memories_;
  std::vector<step> steps_;
  const float* output_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  return bench::network_peer_main<onednn_network>("onednn", version(), argc, argv);
}
