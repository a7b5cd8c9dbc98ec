// SPDX-License-Identifier: Apache-2.0
// Bind a preset to weights and run it, one image and a batch, with no allocation while running.
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

// L-Mobilenet for 32x32 grey images, 10 classes.
inline constexpr auto net = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});

int main() {
  constexpr int batch = 8;
  lmnet::model<net> m(batch);  // allocates weights and an arena for up to 8 images
  // Any WeightSource works: a safetensors file, embedded arrays, a tensor_map. Here: random.
  m.load(lmnet::random_weights{42});

  std::vector<float> images(m.input_shape.size() * batch);
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 255) / 255.0f;

  const auto one = m.infer({images.data(), m.input_shape.size()});
  std::printf("image 0: class %ld\n", std::max_element(one.begin(), one.end()) - one.begin());

  const auto all = m.infer(images, batch);  // outputs one after another
  for (int n = 0; n < batch; ++n) {
    const auto logits =
        all.subspan(static_cast<std::size_t>(n) * m.output_shape.size(), m.output_shape.size());
    std::printf("image %d: class %ld\n", n,
                std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
}
