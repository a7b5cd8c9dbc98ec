// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/aligned_buffer.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/io/bind.hpp>
#include <lmnet/io/weight_source.hpp>
#include <lmnet/network/compile.hpp>
#include <lmnet/quantization/calibration.hpp>
#include <lmnet/quantization/quantize.hpp>
#include <lmnet/quantization/storage.hpp>

#include <cmath>
#include <span>
#include <string>
#include <type_traits>

namespace lmnet {

/// A network description bound to a backend and to weights, ready to run.
///
///     lmnet::model<my_net, lmnet::backend::reference> m;   // arena for one image
///     m.load(weights);                                     // any WeightSource
///     std::span<const float> logits = m.infer(image);      // (H, W, C) floats in, no allocation
///
/// Memory (weights, activation arena for `max_batch` images) is allocated by the constructor and
/// never during inference. Outputs are views of the arena, valid until the next call. `infer`
/// before a successful `load` is an `lmnet::error`.
template <const auto& Net, class Backend = backend::reference,
          compile_options Options = compile_options{}>
class model {
 public:
  static constexpr const auto& plan = plan_of<Net, Options>;
  static constexpr shape input_shape = plan.input_shape();
  static constexpr shape output_shape = plan.output_shape();
  using backend_type = Backend;
  using engine_type = engine<Backend, plan>;

  /// Arena for `max_batch` images; extra arguments go to the backend's engine (an executor, say).
  template <class... EngineArgs>
  explicit model(int max_batch = 1, EngineArgs&&... engine_args)
      : engine_(check_batch(max_batch), static_cast<EngineArgs&&>(engine_args)...) {}

  /// Whether the backend runs in int8 (backend::int8<...>): it then needs quant params.
  static constexpr bool quantized = requires { engine_type::quantized; };

  /// Binds weights by PyTorch name, folds batch norm and packs them for the backend. An int8
  /// model reads the quant params stored beside the weights (quantization/storage.hpp) too.
  template <WeightSource S>
  void load(S&& source) {
    aligned_buffer folded(plan.weight_floats);
    if constexpr (quantized) {
      const tensor_spec params = quantization_tensor(plan);
      value_quantization values = read_quantization(plan, source);
      bind_weights(plan, source, folded.span(), {&params, 1});
      load_engine(folded.span(), std::move(values));
    } else {
      bind_weights(plan, source, folded.span());
      load_engine(folded.span());
    }
  }

  /// An int8 model from fp32 weights: calibrates on `calibration_images` (NHWC floats, one
  /// after another, like those the model will see) and quantizes (docs/quantization.md).
  template <WeightSource S>
  requires quantized void load(S&& source, std::span<const float> calibration_images,
                               quantization_options options = {}) {
    aligned_buffer folded(plan.weight_floats);
    bind_weights(plan, source, folded.span());
    load_engine(folded.span(),
                calibrate_quantization(plan, folded.span(), calibration_images, options));
  }

  /// Loads weights already in the canonical folded layout (see io/bind.hpp).
  void load_folded(std::span<const float> folded) {
    if constexpr (quantized) {
      throw error("an int8 model needs quant params: load_folded(folded, quant params)");
    } else {
      check_folded(folded);
      load_engine(folded);
    }
  }

  /// An int8 model from folded weights and the quant params of every tensor.
  void load_folded(std::span<const float> folded, value_quantization values) requires quantized {
    check_folded(folded);
    load_engine(folded, std::move(values));
  }

  /// The quant params an int8 model runs with (to store them: quantization/storage.hpp).
  const value_quantization& quantization() const requires quantized { return values_; }

  /// Runs one image of `input_shape` (NHWC floats) and returns its output.
  std::span<const float> infer(std::span<const float> image) { return infer(image, 1); }

  /// Runs `batch` images stored one after another; returns their outputs one after another.
  std::span<const float> infer(std::span<const float> images, int batch) {
    return infer(images, batch, no_step_observer{});
  }

  /// The same, telling `observer` when each of the backend's steps begins and ends (the timing
  /// hook of lmnet::profile; backends without steps, CUDA, take no_step_observer only).
  template <StepObserver Observer>
  std::span<const float> infer(std::span<const float> images, int batch, Observer&& observer) {
    if (!loaded_) throw error("infer() before load(): call load() (or load_folded()) first");
    if (batch < 1 || batch > engine_.max_batch()) {
      throw error("batch of " + std::to_string(batch) + " images, the model was built for 1 to " +
                  std::to_string(engine_.max_batch()));
    }
    const std::size_t expected = input_shape.size() * static_cast<std::size_t>(batch);
    if (images.size() != expected) {
      throw error("input holds " + std::to_string(images.size()) + " floats, expected " +
                  std::to_string(expected) + " (" + std::to_string(batch) + " x " +
                  std::to_string(input_shape.height) + "x" + std::to_string(input_shape.width) +
                  "x" + std::to_string(input_shape.channels) + ")");
    }
    for (std::size_t i = 0; i < images.size(); ++i) {
      if (!std::isfinite(images[i])) {
        throw error("input has a non-finite value at index " + std::to_string(i));
      }
    }
    tensor_view<const float> out;
    if constexpr (std::is_same_v<std::remove_cvref_t<Observer>, no_step_observer>) {
      out = engine_.run(images.data(), batch);
    } else {
      out = engine_.run(images.data(), batch, observer);
    }
    return {out.data, output_shape.size() * static_cast<std::size_t>(batch)};
  }

  int max_batch() const { return engine_.max_batch(); }
  engine_type& backend_engine() { return engine_; }

 private:
  static int check_batch(int max_batch) {
    if (max_batch < 1) throw error("max_batch must be >= 1, got " + std::to_string(max_batch));
    return max_batch;
  }

  static void check_folded(std::span<const float> folded) {
    if (folded.size() != plan.weight_floats) {
      throw error("folded weights hold " + std::to_string(folded.size()) +
                  " floats, the network needs " + std::to_string(plan.weight_floats));
    }
  }

  // A failed engine load may leave weights half packed: the model stays unloaded until it succeeds.
  void load_engine(std::span<const float> folded) {
    loaded_ = false;
    engine_.load(folded);
    loaded_ = true;
  }
  void load_engine(std::span<const float> folded, value_quantization values) {
    loaded_ = false;
    engine_.load(quantize_network(plan, folded, values));
    values_ = std::move(values);
    loaded_ = true;
  }

  engine_type engine_;
  bool loaded_ = false;
  value_quantization values_;  // int8 models only
};

}  // namespace lmnet
