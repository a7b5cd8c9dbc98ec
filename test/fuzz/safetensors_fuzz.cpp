// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: any byte string given to the safetensors reader either parses, with every
// tensor then readable or rejected by name, or is rejected with an lmnet::error; never a crash,
// an out-of-bounds read or undefined behaviour (built with ASan and UBSan).
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//     test/fuzz/safetensors_fuzz.cpp -o safetensors_fuzz
//   ./safetensors_fuzz -dict=test/fuzz/safetensors.dict new_corpus/ test/fuzz/corpus/
#include <lmnet/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    lmnet::safetensors file(std::as_bytes(std::span(data, size)), "fuzz input");
    std::vector<float> values;
    for (const std::string& name : file.tensors().names()) {
      const lmnet::stored_tensor& t = *file.tensors().find(name);
      const std::size_t count = t.element_count();
      if (count > (1u << 20)) continue;  // bounded work per input
      values.resize(count);
      try {
        file.read(name, t.shape, values);
      } catch (const lmnet::error&) {
        // unreadable dtype or non-finite value: rejected by name, as it should be
      }
    }
    file.finish();
  } catch (const lmnet::error&) {
    // rejected with a message: the expected outcome for most inputs
  }
  return 0;
}
