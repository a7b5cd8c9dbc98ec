// SPDX-License-Identifier: Apache-2.0
// The CUDA engine's work on the host: the same packing and schedule as the GPU engine, every
// launch run by the emulator over host memory. Memory starts as NaN, so an output no kernel wrote
// cannot pass for a result.
#pragma once

#include "host_emulator.hpp"

#include <lmnet/backend/cuda/packing.hpp>
#include <lmnet/backend/cuda/schedule.hpp>
#include <lmnet/io/bind.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

namespace lmnet::test {

template <const auto& Plan>
class host_cuda_engine {
 public:
  explicit host_cuda_engine(int max_batch, cuda::device_limits limits = {},
                            cuda::schedule_options options = {})
      : max_batch_(max_batch),
        limits_(limits),
        options_(options),
        arena_(Plan.arena_floats * static_cast<std::size_t>(max_batch)),
        input_(Plan.input_shape().size() * static_cast<std::size_t>(max_batch)) {}

  template <class Source>
  void load(Source&& source) {
    std::vector<float> folded(Plan.weight_floats);
    bind_weights(Plan, source, std::span<float>(folded));
    load_folded(folded);
  }
  void load_folded(std::span<const float> folded) {
    packed_.assign(cuda::packed_layout_of(Plan).floats, 0.0f);
    cuda::pack_weights(Plan, folded, packed_);
  }

  /// The schedule for `batch`, with scratch grown to what it asks for.
  cuda::schedule schedule_for(int batch) {
    cuda::schedule s = cuda::build_schedule(Plan, batch, memory(), limits_, options_);
    if (!s.fits(memory())) {
      reserve_scratch(s.partial_floats, s.counter_count);
      s = cuda::build_schedule(Plan, batch, memory(), limits_, options_);
    }
    return s;
  }

  /// Scratch for split fused blocks, before building schedules that are changed by hand.
  void reserve_scratch(std::size_t partial, std::size_t counters) {
    if (partial > partial_.size()) partial_.assign(partial, 0.0f);
    if (counters > counters_.size()) counters_.assign(counters, 0u);
  }

  /// Runs `s` (built by `schedule_for`) on `batch` images.
  std::vector<float> run_with(const cuda::schedule& s, std::span<const float> images, int batch,
                              block_order order = block_order::forward) {
    std::fill(arena_.begin(), arena_.end(), std::numeric_limits<float>::quiet_NaN());
    std::copy(images.begin(), images.end(), input_.begin());
    emulate(s, order);
    for (unsigned c : counters_) {
      if (c != 0) throw std::logic_error("a split fused block left its counter non-zero");
    }
    const tensor_view<const float> out = Plan.view(
        Plan.output_value, static_cast<const float*>(arena_.data()), input_.data(), batch);
    return {out.data, out.data + Plan.output_shape().size() * static_cast<std::size_t>(batch)};
  }

  std::vector<float> run(std::span<const float> images, int batch,
                         block_order order = block_order::forward) {
    return run_with(schedule_for(batch), images, batch, order);
  }

 private:
  cuda::schedule_memory memory() {
    return {arena_.data(),   input_.data(),    packed_.data(),  partial_.data(),
            partial_.size(), counters_.data(), counters_.size()};
  }

  int max_batch_;
  cuda::device_limits limits_;
  cuda::schedule_options options_;
  std::vector<float> arena_, input_, packed_, partial_;
  std::vector<unsigned> counters_;
};

}  // namespace lmnet::test
