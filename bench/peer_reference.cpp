// SPDX-License-Identifier: Apache-2.0
// Hands the Python peers of scripts/compare-peers what lmnet runs, one safetensors file per
// network case: <dir>/<model>_<size>.safetensors holds every weight tensor lmnet reads, under its
// PyTorch state_dict name and shape (the PyTorch mirrors in tools/lmnet_tools/models.py load
// them, and every other peer's model is converted from that mirror), the input image ("input",
// [1, H, W, C], the one bench_simd and the native peers time) and lmnet's output on it ("output",
// the simd backend, one thread). For the int8 peers, lmnet's output in int8 ("output_int8"), the
// images the int8 case is calibrated on ("calibration", [N, H, W, C]) and the network in int8 as
// JSON, <dir>/<model>_<size>.int8.json (tools/int8_export.hpp: the plan, lmnet's quant params and
// int8 weights, from which tools/int8_onnx.py builds the ONNX QDQ model).
//
//   lmnet_peer_reference <dir>
#include "int8_export.hpp"
#include "network_cases.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace lmnet;

struct tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// random_weights, keeping a copy of every tensor handed out.
class recording_source {
 public:
  void read(const std::string& name, std::span<const std::int64_t> shape, std::span<float> out) {
    inner_.read(name, shape, out);
    tensors[name] = {{shape.begin(), shape.end()}, {out.begin(), out.end()}};
  }
  void finish() const {}
  std::map<std::string, tensor> tensors;

 private:
  random_weights inner_{bench::weight_seed};
};

// The safetensors layout: an 8-byte little-endian header length, the JSON header, the data.
void write_safetensors(const std::string& path, const std::map<std::string, tensor>& tensors,
                       const std::string& metadata) {
  std::string header = "{\"__metadata__\":{" + metadata + "}";
  std::size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header += ",\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) header += ',';
      header += std::to_string(t.shape[i]);
    }
    const std::size_t bytes = t.values.size() * sizeof(float);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::ofstream f(path, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
  f << header;
  for (const auto& [name, t] : tensors) {
    f.write(reinterpret_cast<const char*>(t.values.data()),
            static_cast<std::streamsize>(t.values.size() * sizeof(float)));
  }
  if (!f) throw error("could not write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bench::for_each_network([&]<const auto & Net>(const char* model, int size) {
    constexpr auto& plan = plan_of<Net>;
    recording_source source;
    aligned_buffer folded(plan.weight_floats);
    bind_weights(plan, source, folded.span());
    const shape in = plan.input_shape();
    const aligned_buffer image = bench::network_input(in.size());
    std::vector<float> output = bench::lmnet_output<Net>(image.span());
    source.tensors["input"] = {{1, in.height, in.width, in.channels},
                               {image.span().begin(), image.span().end()}};
    const auto classes = static_cast<std::int64_t>(output.size());
    source.tensors["output"] = {{1, classes}, std::move(output)};
    source.tensors["output_int8"] = {{1, classes}, bench::lmnet_int8_output<Net>(image.span())};
    const aligned_buffer calibration = bench::calibration_images(in.size());
    source.tensors["calibration"] = {{bench::calibration_count, in.height, in.width, in.channels},
                                     {calibration.span().begin(), calibration.span().end()}};
    const std::string stem = dir + "/" + model + "_" + std::to_string(size);
    std::ofstream json(stem + ".int8.json");
    tools::write_int8_json(
        json, plan, quantize_network(plan, folded.span(), bench::int8_quantization<Net>()), model);
    if (!json) throw error("could not write " + stem + ".int8.json");
    const std::string path = stem + ".safetensors";
    write_safetensors(
        path, source.tensors,
        "\"model\":\"" + std::string(model) + "\",\"size\":\"" + std::to_string(size) + "\"");
    std::printf("%s\n", path.c_str());
  });
  return 0;
}
