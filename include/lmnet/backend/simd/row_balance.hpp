// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace lmnet::simd {

namespace detail {

// The share [begin, end) of `total` items that part `part` of `parts` takes.
struct share {
  int begin;
  int end;
};
constexpr share split(int total, int part, int parts) {
  return {static_cast<int>(static_cast<long long>(total) * part / parts),
          static_cast<int>(static_cast<long long>(total) * (part + 1) / parts)};
}

}  // namespace detail

/// How each step's rows (a dense layer's: register blocks of output channels) are shared among
/// the parts that threads run, learned from earlier inferences. Equal shares are right only when
/// every core runs equally fast; a core that the host slows down, or that wakes late, makes the
/// others wait at every step. So each part's share follows the rate at which it finished: its rows
/// over the time from the step's start to the part's end, averaged over the last few inferences.
///
/// Shares only move work between parts: every row is still computed once, by the same kernel,
/// so shares of rows do not change results (shares of a block's hidden channels change where its
/// partial sums are cut, hence their last bits). Memory is reserved at construction; record() may
/// be called concurrently for different parts, update() once the step's parts have all returned.
class row_balance {
 public:
  row_balance(int steps, int parts)
      : parts_(std::max(parts, 1)),
        weights_(static_cast<std::size_t>(steps) * static_cast<std::size_t>(parts_), 1.0 / parts_),
        rates_(static_cast<std::size_t>(parts_), 0.0) {}

  /// Rows [begin, end) of `total` that part `part` of step `step` runs.
  detail::share share(int step, int total, int part) const {
    return {boundary(step, total, part), boundary(step, total, part + 1)};
  }

  /// Part `part` of the step being run finished its `rows` rows `seconds` after the step started.
  void record(int part, int rows, double seconds) {
    rates_[static_cast<std::size_t>(part)] = rows > 0 && seconds > 0 ? rows / seconds : 0.0;
  }

  /// Moves the shares of step `step`, the one just run, toward the rates recorded for it. A part
  /// that recorded nothing (no rows, or not timed) leaves them as they are.
  void update(int step) {
    double sum = 0;
    for (int p = 0; p < parts_; ++p) {
      const double r = rates_[static_cast<std::size_t>(p)];
      if (r <= 0) return;
      sum += r;
    }
    // Never below a quarter of an equal share: a part keeps enough rows to be measured, and a
    // core that was slow for one inference is not left idle for the next ones. The blend sums to
    // 1; what raising parts to the floor adds is taken from the others, above the floor.
    const double floor = 0.25 / parts_;
    double excess = 0, above = 0;
    for (int p = 0; p < parts_; ++p) {
      double& w = weights_[index(step, p)];
      w = (1 - smoothing) * w + smoothing * rates_[static_cast<std::size_t>(p)] / sum;
      if (w < floor) {
        excess += floor - w;
        w = floor;
      } else {
        above += w - floor;
      }
    }
    for (int p = 0; p < parts_ && excess > 0; ++p) {
      double& w = weights_[index(step, p)];
      if (w > floor) w -= excess * (w - floor) / above;
    }
  }

  /// The step's shares, summing to 1.
  double weight(int step, int part) const { return weights_[index(step, part)]; }

 private:
  // Weight of the newest rates: an average over roughly the last four inferences.
  static constexpr double smoothing = 0.25;

  std::size_t index(int step, int part) const {
    return static_cast<std::size_t>(step) * static_cast<std::size_t>(parts_) +
           static_cast<std::size_t>(part);
  }
  int boundary(int step, int total, int part) const {
    if (part <= 0) return 0;
    if (part >= parts_) return total;
    double before = 0;
    for (int p = 0; p < part; ++p) before += weights_[index(step, p)];
    return std::clamp(static_cast<int>(before * total + 0.5), 0, total);
  }

  int parts_;
  std::vector<double> weights_;  // per step and part
  std::vector<double> rates_;    // per part, of the step being run
};

}  // namespace lmnet::simd
