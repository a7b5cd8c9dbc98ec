// SPDX-License-Identifier: Apache-2.0
// lmnet_export_int8: a calibrated Fashion-MNIST model (lmnet_quantize) as JSON: its compiled plan,
// the quant params of every tensor and every layer's int8 weights (tools/int8_export.hpp), from
// which tools/int8_onnx.py builds the ONNX QDQ model that ONNX Runtime runs in int8:
//
//   lmnet_export_int8 <model> <calibrated.safetensors> <out.json>
#include "fashion_mnist_models.hpp"
#include "int8_export.hpp"

#include <lmnet/lmnet.hpp>
#include <lmnet/quantization/storage.hpp>

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: lmnet_export_int8 <model> <calibrated.safetensors> <out.json>\n");
    return 2;
  }
  const std::string name = argv[1], calibrated = argv[2], path = argv[3];
  try {
    const bool known = fashion_mnist::with_model(
        name, [&]<const auto & Net>() {
          constexpr auto& plan = lmnet::plan_of<Net>;
          lmnet::safetensors source(calibrated);
          const lmnet::value_quantization values = lmnet::read_quantization(plan, source);
          const lmnet::tensor_spec params = lmnet::quantization_tensor(plan);
          lmnet::aligned_buffer folded(plan.weight_floats);
          lmnet::bind_weights(plan, source, folded.span(), {&params, 1});
          std::ofstream out(path);
          lmnet::tools::write_int8_json(out, plan,
                                        lmnet::quantize_network(plan, folded.span(), values), name);
          if (!out) throw lmnet::error("could not write " + path);
          std::printf("%s: %zu nodes, %zu tensors, written to %s\n", name.c_str(),
                      plan.nodes.size(), plan.values.size(), path.c_str());
        });
    if (!known) {
      std::fprintf(stderr, "lmnet_export_int8: unknown model '%s'\n", name.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmnet_export_int8: %s\n", e.what());
    return 1;
  }
}
