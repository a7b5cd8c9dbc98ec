// SPDX-License-Identifier: Apache-2.0
// Where an inference spends its time, step by step as the backend runs it: the reference backend
// node by node, the simd backend by its schedule's steps (a fused block is one step).
//
//     lmnet::model<net, lmnet::backend::simd<>> m;
//     m.load(weights);
//     const lmnet::profile_report r = lmnet::profile(m, image, 50);   // 50 timed inferences
//     std::fputs(r.table().c_str(), stdout);                          // or r.json()
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/layers/layer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmnet {

/// One step of a profile.
struct step_profile {
  std::string path;  // PyTorch module path; a fused block: the common prefix of its layers' paths
  std::vector<std::string> covers;  // a fused block: its weight layers' paths below `path`
  std::string op;        // "pointwise_conv2d", "fused_block[pointwise+depthwise+pointwise]", ...
  shape output{};        // of one image
  std::size_t macs = 0;  // multiply-accumulates of one image (a fused block: all its layers')
  double median_seconds = 0;  // of the step over the whole batch
  double gflops = 0;          // 2 * macs * batch / median_seconds, in 10^9 per second
  double share = 0;           // of the sum of every step's median
};

/// A model's steps, timed over `runs` inferences of a batch of `batch` images.
struct profile_report {
  int batch = 1;
  int threads = 1;
  int runs = 0;
  std::size_t macs = 0;     // of one image: the sum of the steps'
  double step_seconds = 0;  // the sum of the steps' medians
  double run_seconds = 0;   // median of whole inferences, first step's start to last step's end
  std::vector<step_profile> steps;

  /// One line per step, then the totals.
  std::string table() const;
  /// The same as a JSON object: {"batch", "threads", "runs", "macs", "step_seconds",
  /// "run_seconds", "steps": [{"step", "path", "covers", "op", "output": [h, w, c], "macs",
  /// "median_seconds", "gflops", "share"}]}.
  std::string json() const;
};

namespace detail {

// A StepObserver that keeps the last inference's step durations and its whole duration.
class step_clock {
 public:
  using clock = std::chrono::steady_clock;

  explicit step_clock(int steps)
      : begins_(static_cast<std::size_t>(steps)), seconds_(static_cast<std::size_t>(steps)) {}

  void step_begins(int step) { begins_[static_cast<std::size_t>(step)] = clock::now(); }
  void step_ends(int step) {
    const clock::time_point now = clock::now();
    seconds_[static_cast<std::size_t>(step)] =
        std::chrono::duration<double>(now - begins_[static_cast<std::size_t>(step)]).count();
    if (static_cast<std::size_t>(step) + 1 == seconds_.size()) {
      whole_ = std::chrono::duration<double>(now - begins_.front()).count();
    }
  }
  double seconds(int step) const { return seconds_[static_cast<std::size_t>(step)]; }
  double whole_seconds() const { return whole_; }

 private:
  std::vector<clock::time_point> begins_;
  std::vector<double> seconds_;
  double whole_ = 0;
};

inline double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// "features.3.conv" -> {"features", "3", "conv"}; "" -> {}.
inline std::vector<std::string> path_segments(const std::string& path) {
  std::vector<std::string> segments;
  if (path.empty()) return segments;
  for (std::size_t begin = 0;;) {
    const std::size_t dot = std::min(path.find('.', begin), path.size());
    segments.push_back(path.substr(begin, dot - begin));
    if (dot == path.size()) return segments;
    begin = dot + 1;
  }
}

inline std::string joined(const std::vector<std::string>& parts, std::size_t from, std::size_t to,
                          std::string_view separator) {
  std::string s;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) s += separator;
    s += parts[i];
  }
  return s;
}

// A weight layer's name inside a fused block's op ("pointwise" for pointwise_conv2d).
constexpr std::string_view fused_part_name(op kind) {
  switch (kind) {
    case op::depthwise_conv2d:
      return "depthwise";
    case op::pointwise_conv2d:
      return "pointwise";
    default:
      return op_name(kind);
  }
}

// A step's path, covers, op, output and MACs, from the plan nodes it runs.
template <class Plan>
step_profile describe(const Plan& plan, const engine_step& st) {
  std::vector<int> nodes;
  if (st.absorbed >= 0) nodes.push_back(st.absorbed);
  for (int i = st.first; i <= st.last; ++i) nodes.push_back(i);

  step_profile p;
  p.output = st.output;
  for (int i : nodes) p.macs += plan.nodes[static_cast<std::size_t>(i)].spec.macs();
  if (st.what != engine_step::kind::fused_block) {
    const node& n = plan.nodes[static_cast<std::size_t>(st.last)];
    p.path = n.name.str();
    p.op = st.what == engine_step::kind::layer ? op_name(n.kind()) : "strided_copy";
    return p;
  }

  // A fused block: the common prefix of its layers' paths, and what lies below it.
  std::vector<std::string> prefix;
  bool first = true;
  for (int i : nodes) {
    const std::vector<std::string> s =
        path_segments(plan.nodes[static_cast<std::size_t>(i)].name.str());
    if (s.empty()) continue;
    if (first) {
      prefix = s;
      first = false;
      continue;
    }
    std::size_t common = 0;
    while (common < prefix.size() && common < s.size() && prefix[common] == s[common]) ++common;
    prefix.resize(common);
  }
  p.path = joined(prefix, 0, prefix.size(), ".");
  p.op = "fused_block[";
  std::string_view last_part;
  for (int i : nodes) {
    const node& n = plan.nodes[static_cast<std::size_t>(i)];
    if (!has_weights(n.kind())) continue;
    const std::vector<std::string> s = path_segments(n.name.str());
    if (s.size() > prefix.size()) p.covers.push_back(joined(s, prefix.size(), s.size(), "."));
    const std::string_view part = fused_part_name(n.kind());
    if (part != last_part) {
      if (!last_part.empty()) p.op += '+';
      p.op += part;
      last_part = part;
    }
  }
  p.op += ']';
  return p;
}

// Every step of `Model`'s engine, described (times left at zero).
template <class Model>
std::vector<step_profile> describe_steps() {
  using engine = typename Model::engine_type;
  static_assert(
      requires { engine::step_count(); },
      "lmnet: this backend's engine does not report its steps (the reference and simd "
      "backends do)");
  std::vector<step_profile> steps;
  for (int k = 0; k < engine::step_count(); ++k) {
    steps.push_back(describe(Model::plan, engine::describe_step(k)));
  }
  return steps;
}

template <class... Values>
std::string format(const char* pattern, Values... values) {
  std::string s(static_cast<std::size_t>(std::snprintf(nullptr, 0, pattern, values...)), '\0');
  std::snprintf(s.data(), s.size() + 1, pattern, values...);
  return s;
}

inline std::string shape_text(shape s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" +
         std::to_string(s.channels);
}

// A step's module column: its path, then the paths below it that a fused block covers.
inline std::string module_text(const step_profile& p) {
  // Appended piece by piece: GCC 12 reports a false -Wrestrict on concatenations here.
  std::string s = p.path;
  if (!p.covers.empty()) {
    if (!s.empty()) s.push_back(' ');
    s.push_back('[');
    s.append(joined(p.covers, 0, p.covers.size(), " "));
    s.push_back(']');
  }
  if (s.empty()) s.push_back('-');
  return s;
}

// A JSON string literal.
inline std::string json_string(std::string_view text) {
  std::string s = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      s += '\\';
      s += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      s += format("\\u%04x", static_cast<unsigned>(c));
    } else {
      s += c;
    }
  }
  return s + '"';
}

// A JSON number: finite, enough digits to read back.
inline std::string json_number(double v) {
  return std::isfinite(v) ? format("%.9g", v) : std::string("0");
}

}  // namespace detail

/// Times every step of `m` over `runs` inferences of `images` (whole images of the model's input
/// shape, one after another: their count is the batch), after three untimed ones (the first
/// touches the arena, and the simd backend's thread shares settle). Each step is timed on the
/// calling thread from its start to its end, its threads included; the medians are per step.
/// Steps follow the backend: the reference backend's nodes, the simd backend's schedule (a fused
/// block is one step). The CUDA backend reports no steps.
template <class Model>
profile_report profile(Model& m, std::span<const float> images, int runs = 20) {
  using engine = typename Model::engine_type;
  if (runs < 1) throw error("profile: runs must be at least 1, got " + std::to_string(runs));
  const std::size_t image_floats = Model::input_shape.size();
  if (images.empty() || images.size() % image_floats != 0) {
    throw error("profile: the input holds " + std::to_string(images.size()) +
                " floats, not a whole number of images of " +
                detail::shape_text(Model::input_shape) + " (" + std::to_string(image_floats) +
                " floats)");
  }
  const int batch = static_cast<int>(images.size() / image_floats);

  profile_report r;
  r.steps = detail::describe_steps<Model>();
  r.batch = batch;
  r.runs = runs;
  if constexpr (requires(engine & e) { e.threads(); }) r.threads = m.backend_engine().threads();

  const int steps = engine::step_count();
  detail::step_clock clock(steps);
  for (int warm = 0; warm < 3; ++warm) m.infer(images, batch, clock);
  std::vector<std::vector<double>> times(static_cast<std::size_t>(steps));
  std::vector<double> whole;
  for (int run = 0; run < runs; ++run) {
    m.infer(images, batch, clock);
    for (int k = 0; k < steps; ++k) times[static_cast<std::size_t>(k)].push_back(clock.seconds(k));
    whole.push_back(clock.whole_seconds());
  }
  r.run_seconds = detail::median_of(whole);
  for (int k = 0; k < steps; ++k) {
    step_profile& p = r.steps[static_cast<std::size_t>(k)];
    p.median_seconds = detail::median_of(times[static_cast<std::size_t>(k)]);
    r.step_seconds += p.median_seconds;
    r.macs += p.macs;
    p.gflops =
        p.median_seconds > 0 ? 2e-9 * static_cast<double>(p.macs) * batch / p.median_seconds : 0.0;
  }
  for (step_profile& p : r.steps) {
    p.share = r.step_seconds > 0 ? p.median_seconds / r.step_seconds : 0.0;
  }
  return r;
}

inline std::string profile_report::table() const {
  int op_width = 2;
  for (const step_profile& p : steps) op_width = std::max(op_width, static_cast<int>(p.op.size()));
  std::string s = detail::format("%4s  %-*s  %10s  %12s  %10s  %8s  %6s  %s\n", "step", op_width,
                                 "op", "output", "MACs", "median_us", "GFLOP/s", "share", "module");
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const step_profile& p = steps[k];
    s += detail::format("%4zu  %-*s  %10s  %12zu  %10.1f  %8.2f  %5.1f%%  %s\n", k, op_width,
                        p.op.c_str(), detail::shape_text(p.output).c_str(), p.macs,
                        1e6 * p.median_seconds, p.gflops, 100.0 * p.share,
                        detail::module_text(p).c_str());
  }
  const double total_gflops =
      step_seconds > 0 ? 2e-9 * static_cast<double>(macs) * batch / step_seconds : 0.0;
  s += detail::format("%4s  %-*s  %10s  %12zu  %10.1f  %8.2f  %5.1f%%\n", "", op_width, "all steps",
                      "", macs, 1e6 * step_seconds, total_gflops, 100.0);
  s += detail::format("whole inference: median %.1f us over %d runs; batch %d, %d thread%s\n",
                      1e6 * run_seconds, runs, batch, threads, threads == 1 ? "" : "s");
  return s;
}

inline std::string profile_report::json() const {
  using detail::json_number;
  std::string s = "{\"batch\": " + std::to_string(batch) +
                  ", \"threads\": " + std::to_string(threads) +
                  ", \"runs\": " + std::to_string(runs) + ", \"macs\": " + std::to_string(macs) +
                  ", \"step_seconds\": " + json_number(step_seconds) +
                  ", \"run_seconds\": " + json_number(run_seconds) + ", \"steps\": [";
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const step_profile& p = steps[k];
    s += k == 0 ? "\n  " : ",\n  ";
    s += "{\"step\": " + std::to_string(k) + ", \"path\": " + detail::json_string(p.path) +
         ", \"covers\": [";
    for (std::size_t c = 0; c < p.covers.size(); ++c) {
      s += (c == 0 ? "" : ", ") + detail::json_string(p.covers[c]);
    }
    s += "], \"op\": " + detail::json_string(p.op) + ", \"output\": [" +
         std::to_string(p.output.height) + ", " + std::to_string(p.output.width) + ", " +
         std::to_string(p.output.channels) + "], \"macs\": " + std::to_string(p.macs) +
         ", \"median_seconds\": " + json_number(p.median_seconds) +
         ", \"gflops\": " + json_number(p.gflops) + ", \"share\": " + json_number(p.share) + "}";
  }
  return s + "\n]}\n";
}

}  // namespace lmnet
