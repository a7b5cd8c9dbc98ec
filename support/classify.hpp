// SPDX-License-Identifier: Apache-2.0
// Classifies many images with lmnet on every core: the weights are bound and folded once, then each
// thread runs its own model (its own arena) over its share of the images, batch by batch.
#pragma once

#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace examples {

struct classification {
  std::vector<float> logits;  // count x classes
  std::vector<int> predictions;
  double seconds = 0;  // running the networks only (no loading)
  int threads = 1;
};

/// Runs network `Net` on `Backend` over `count` preprocessed images stored one after another.
template <const auto& Net, class Backend, lmnet::WeightSource Source>
classification classify(Source&& weights, std::span<const float> images, std::size_t count,
                        int threads, int batch = 16) {
  using model = lmnet::model<Net, Backend>;
  lmnet::aligned_buffer folded(model::plan.weight_floats);
  lmnet::value_quantization quantization;  // an int8 model's, stored beside its weights
  if constexpr (model::quantized) {
    quantization = lmnet::read_quantization(model::plan, weights);
    const lmnet::tensor_spec params = lmnet::quantization_tensor(model::plan);
    lmnet::bind_weights(model::plan, weights, folded.span(), {&params, 1});
  } else {
    lmnet::bind_weights(model::plan, weights, folded.span());
  }

  const std::size_t in = model::input_shape.size(), classes = model::output_shape.size();
  if (images.size() != count * in) {
    throw lmnet::error("classify: " + std::to_string(images.size()) + " floats for " +
                       std::to_string(count) + " images of " + std::to_string(in));
  }
  threads = static_cast<int>(std::clamp<std::size_t>(static_cast<std::size_t>(threads), 1,
                                                     std::max<std::size_t>(count, 1)));
  std::vector<std::unique_ptr<model>> models;
  for (int t = 0; t < threads; ++t) {
    models.push_back(std::make_unique<model>(batch));
    if constexpr (model::quantized) {
      models.back()->load_folded(folded.span(), quantization);
    } else {
      models.back()->load_folded(folded.span());
    }
  }

  classification result;
  result.threads = threads;
  result.logits.resize(count * classes);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
  auto work = [&](int t) {
    try {
      const std::size_t begin =
          count * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
      const std::size_t end =
          count * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
      for (std::size_t i = begin; i < end; i += static_cast<std::size_t>(batch)) {
        const int n =
            static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), end - i));
        const auto out = models[static_cast<std::size_t>(t)]->infer(
            images.subspan(i * in, static_cast<std::size_t>(n) * in), n);
        std::copy(out.begin(), out.end(),
                  result.logits.begin() + static_cast<std::ptrdiff_t>(i * classes));
      }
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (std::thread& thread : pool) thread.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }

  for (std::size_t i = 0; i < count; ++i) {
    const auto row = std::span(result.logits).subspan(i * classes, classes);
    result.predictions.push_back(
        static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin()));
  }
  return result;
}

}  // namespace examples
