// SPDX-License-Identifier: Apache-2.0
// Shared by the tests: random tensors, error measures, and naive NCHW implementations of every
// layer in PyTorch's conventions, written independently of lmnet's kernels to serve as oracles.
#pragma once

#include <lmnet/core/activation.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lmnet::test {

inline std::vector<float> random_vector(std::size_t n, std::uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

/// max |a - b| / max(max |b|, tiny): error relative to the reference's scale.
inline double max_relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, scale = 1e-30;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return a.size() == b.size() ? diff / scale : 1e30;
}

/// An NCHW tensor.
struct nchw {
  int n = 1, c = 0, h = 0, w = 0;
  std::vector<float> data;
  nchw() = default;
  nchw(int n_, int c_, int h_, int w_)
      : n(n_), c(c_), h(h_), w(w_), data(static_cast<std::size_t>(n_ * c_ * h_ * w_)) {}
  float& at(int in, int ic, int y, int x) {
    return data[static_cast<std::size_t>(((in * c + ic) * h + y) * w + x)];
  }
  float at(int in, int ic, int y, int x) const {
    return data[static_cast<std::size_t>(((in * c + ic) * h + y) * w + x)];
  }
};

inline std::vector<float> to_nhwc(const nchw& t) {
  std::vector<float> out(t.data.size());
  for (int n = 0; n < t.n; ++n)
    for (int y = 0; y < t.h; ++y)
      for (int x = 0; x < t.w; ++x)
        for (int c = 0; c < t.c; ++c)
          out[static_cast<std::size_t>(((n * t.h + y) * t.w + x) * t.c + c)] = t.at(n, c, y, x);
  return out;
}

inline nchw from_nhwc(const float* data, int n, int h, int w, int c) {
  nchw t(n, c, h, w);
  for (int b = 0; b < n; ++b)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int k = 0; k < c; ++k)
          t.at(b, k, y, x) = data[static_cast<std::size_t>(((b * h + y) * w + x) * c + k)];
  return t;
}

/// PyTorch conv2d: weight (O, I/groups, KH, KW), zero padding of pad_h rows and pad_w columns on
/// each side.
inline nchw naive_conv2d(const nchw& in, const std::vector<float>& weight,
                         const std::vector<float>& bias, int out_channels, int kh, int kw,
                         int stride, int pad_h, int pad_w, int groups) {
  const int oh = (in.h + 2 * pad_h - kh) / stride + 1, ow = (in.w + 2 * pad_w - kw) / stride + 1;
  const int ig = in.c / groups, og = out_channels / groups;
  nchw out(in.n, out_channels, oh, ow);
  for (int n = 0; n < in.n; ++n)
    for (int o = 0; o < out_channels; ++o)
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          double sum = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
          const int g = o / og;
          for (int i = 0; i < ig; ++i)
            for (int ky = 0; ky < kh; ++ky)
              for (int kx = 0; kx < kw; ++kx) {
                const int iy = y * stride - pad_h + ky, ix = x * stride - pad_w + kx;
                if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                sum += static_cast<double>(in.at(n, g * ig + i, iy, ix)) *
                       weight[static_cast<std::size_t>(((o * ig + i) * kh + ky) * kw + kx)];
              }
          out.at(n, o, y, x) = static_cast<float>(sum);
        }
  return out;
}

inline nchw naive_batch_norm(nchw t, const std::vector<float>& gamma,
                             const std::vector<float>& beta, const std::vector<float>& mean,
                             const std::vector<float>& var, float eps) {
  for (int n = 0; n < t.n; ++n)
    for (int c = 0; c < t.c; ++c)
      for (int y = 0; y < t.h; ++y)
        for (int x = 0; x < t.w; ++x) {
          const auto k = static_cast<std::size_t>(c);
          t.at(n, c, y, x) = static_cast<float>(
              (t.at(n, c, y, x) - mean[k]) / std::sqrt(double(var[k]) + eps) * gamma[k] + beta[k]);
        }
  return t;
}

inline nchw naive_activation(nchw t, activation act) {
  for (float& v : t.data) {
    if (act == activation::relu) v = std::max(v, 0.0f);
    if (act == activation::relu6) v = std::min(std::max(v, 0.0f), 6.0f);
  }
  return t;
}

inline nchw naive_add(nchw a, const nchw& b) {
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] += b.data[i];
  return a;
}

inline nchw naive_concat(const std::vector<nchw>& parts) {
  int channels = 0;
  for (const nchw& p : parts) channels += p.c;
  nchw out(parts[0].n, channels, parts[0].h, parts[0].w);
  for (int n = 0; n < out.n; ++n) {
    int base = 0;
    for (const nchw& p : parts) {
      for (int c = 0; c < p.c; ++c)
        for (int y = 0; y < p.h; ++y)
          for (int x = 0; x < p.w; ++x) out.at(n, base + c, y, x) = p.at(n, c, y, x);
      base += p.c;
    }
  }
  return out;
}

inline nchw naive_slice(const nchw& t, int begin, int count) {
  nchw out(t.n, count, t.h, t.w);
  for (int n = 0; n < t.n; ++n)
    for (int c = 0; c < count; ++c)
      for (int y = 0; y < t.h; ++y)
        for (int x = 0; x < t.w; ++x) out.at(n, c, y, x) = t.at(n, begin + c, y, x);
  return out;
}

/// torch: x.view(n, g, c/g, h, w).transpose(1, 2).reshape(n, c, h, w).
inline nchw naive_channel_shuffle(const nchw& t, int groups) {
  nchw out(t.n, t.c, t.h, t.w);
  const int per = t.c / groups;
  for (int n = 0; n < t.n; ++n)
    for (int g = 0; g < groups; ++g)
      for (int k = 0; k < per; ++k)
        for (int y = 0; y < t.h; ++y)
          for (int x = 0; x < t.w; ++x)
            out.at(n, k * groups + g, y, x) = t.at(n, g * per + k, y, x);
  return out;
}

inline nchw naive_max_pool(const nchw& t, int k, int stride, int pad) {
  const int oh = (t.h + 2 * pad - k) / stride + 1, ow = (t.w + 2 * pad - k) / stride + 1;
  nchw out(t.n, t.c, oh, ow);
  for (int n = 0; n < t.n; ++n)
    for (int c = 0; c < t.c; ++c)
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          float best = -INFINITY;
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = y * stride - pad + ky, ix = x * stride - pad + kx;
              if (iy >= 0 && iy < t.h && ix >= 0 && ix < t.w)
                best = std::max(best, t.at(n, c, iy, ix));
            }
          out.at(n, c, y, x) = best;
        }
  return out;
}

inline nchw naive_global_avg_pool(const nchw& t) {
  nchw out(t.n, t.c, 1, 1);
  for (int n = 0; n < t.n; ++n)
    for (int c = 0; c < t.c; ++c) {
      double sum = 0;
      for (int y = 0; y < t.h; ++y)
        for (int x = 0; x < t.w; ++x) sum += t.at(n, c, y, x);
      out.at(n, c, 0, 0) = static_cast<float>(sum / (t.h * t.w));
    }
  return out;
}

/// PyTorch linear over flatten(t) in (c, h, w) order; weight (O, C*H*W).
inline nchw naive_dense(const nchw& t, const std::vector<float>& weight,
                        const std::vector<float>& bias, int out) {
  nchw r(t.n, out, 1, 1);
  const int features = t.c * t.h * t.w;
  for (int n = 0; n < t.n; ++n)
    for (int o = 0; o < out; ++o) {
      double sum = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
      for (int f = 0; f < features; ++f)
        sum += static_cast<double>(weight[static_cast<std::size_t>(o * features + f)]) *
               t.data[static_cast<std::size_t>(n * features + f)];
      r.at(n, o, 0, 0) = static_cast<float>(sum);
    }
  return r;
}

}  // namespace lmnet::test
