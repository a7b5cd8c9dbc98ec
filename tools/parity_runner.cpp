// SPDX-License-Identifier: Apache-2.0
// lmnet_parity_runner: runs one of tools/parity.py's cases on lmnet's reference backend.
//
//   lmnet_parity_runner <case> <weights.safetensors> <input.f32> <logits.f32>
//
// The input file holds N images (NHWC float32, little-endian, one after another), the output
// receives their N x classes logits. Cases: mobilenet_v2 (224x224, 1000 classes),
// mobilenet_v2_cifar (32x32, 10 classes), shufflenet_v2 (x1.0, 224x224, 1000 classes), l_mobilenet
// (32x32, 10 classes); all with 3 input channels.
#include <lmnet/lmnet.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

inline constexpr auto mobilenet_v2 = lmnet::models::mobilenet_v2();
inline constexpr auto mobilenet_v2_cifar =
    lmnet::models::mobilenet_v2({.classes = 10, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2 = lmnet::models::shufflenet_v2();
inline constexpr auto l_mobilenet = lmnet::models::l_mobilenet();

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw lmnet::error("cannot open '" + path + "'");
  const std::vector<char> bytes(std::istreambuf_iterator<char>(in), {});
  if (bytes.size() % sizeof(float) != 0) throw lmnet::error("'" + path + "' is not float32 data");
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

template <const auto& Net>
void run(const std::string& weights, const std::string& input, const std::string& output) {
  using model = lmnet::model<Net, lmnet::backend::reference>;
  const std::vector<float> images = read_floats(input);
  const std::size_t per_image = model::input_shape.size();
  if (images.empty() || images.size() % per_image != 0) {
    throw lmnet::error("'" + input + "' holds " + std::to_string(images.size()) +
                       " floats, not a whole number of " + std::to_string(per_image) +
                       "-float images");
  }
  const int batch = static_cast<int>(images.size() / per_image);
  model m(batch);
  m.load(lmnet::safetensors(weights));
  const auto logits = m.infer(images, batch);
  std::ofstream out(output, std::ios::binary);
  out.write(reinterpret_cast<const char*>(logits.data()),
            static_cast<std::streamsize>(logits.size() * sizeof(float)));
  if (!out) throw lmnet::error("cannot write '" + output + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(
        stderr,
        "usage: lmnet_parity_runner <case> <weights.safetensors> <input.f32> <logits.f32>\n");
    return 2;
  }
  const std::string_view name = argv[1];
  try {
    if (name == "mobilenet_v2") {
      run<mobilenet_v2>(argv[2], argv[3], argv[4]);
    } else if (name == "mobilenet_v2_cifar") {
      run<mobilenet_v2_cifar>(argv[2], argv[3], argv[4]);
    } else if (name == "shufflenet_v2") {
      run<shufflenet_v2>(argv[2], argv[3], argv[4]);
    } else if (name == "l_mobilenet") {
      run<l_mobilenet>(argv[2], argv[3], argv[4]);
    } else {
      std::fprintf(stderr, "lmnet_parity_runner: unknown case '%s'\n", argv[1]);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
