// SPDX-License-Identifier: Apache-2.0
// The safetensors reader: values of every readable dtype (against hand-computed conversions and a
// file written by tools/lmnet_tools/safetensors.py), binding to a model (against a tensor_map with
// the same values), and one test per malformed-file case, each checking the error message.
#include "test_utils.hpp"

#include <lmnet/io/inspect.hpp>
#include <lmnet/io/safetensors.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace lmnet;
using doctest::Contains;

namespace {

using bytes = std::vector<std::byte>;

/// A safetensors file assembled from a header text and data bytes, so that every field can be
/// made wrong on purpose.
bytes make_file(const std::string& header, const bytes& data = {}) {
  bytes out(8);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void append_f32(bytes& data, float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  for (int i = 0; i < 4; ++i) data.push_back(static_cast<std::byte>((u >> (8 * i)) & 0xff));
}
void append_u16(bytes& data, std::uint16_t v) {
  data.push_back(static_cast<std::byte>(v & 0xff));
  data.push_back(static_cast<std::byte>(v >> 8));
}

bytes f32_data(const std::vector<float>& values) {
  bytes data;
  for (float v : values) append_f32(data, v);
  return data;
}

// The reader owns the bytes: temporaries are safe.
safetensors open(bytes file) {
  return safetensors(std::move(file), "test.safetensors");
}

std::vector<float> read(safetensors& s, const std::string& name, std::vector<std::int64_t> shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  std::vector<float> out(n);
  s.read(name, shape, out);
  return out;
}

// A file of F32 tensors holding `values` where given by name, ones elsewhere.
bytes file_of(const std::vector<tensor_spec>& tensors,
              const std::map<std::string, std::vector<float>>& values = {}) {
  std::string header = "{";
  bytes data;
  for (const tensor_spec& t : tensors) {
    std::size_t n = 1;
    for (auto d : t.shape) n *= static_cast<std::size_t>(d);
    const auto given = values.find(t.name);
    const std::size_t begin = data.size();
    for (std::size_t i = 0; i < n; ++i)
      append_f32(data, given == values.end() ? 1.0f : given->second[i]);
    if (header.size() > 1) header += ",";
    header += "\"" + t.name + "\":{\"dtype\":\"F32\",\"shape\":" + shape_string(t.shape);
    header +=
        ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  return make_file(header + "}", data);
}

// One F32 tensor "w" of shape [2, 2] holding 1, 2, 3, 4.
const std::string good_header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
const bytes good_data = f32_data({1, 2, 3, 4});

}  // namespace

TEST_CASE("safetensors: F32, F16 and BF16 values convert exactly") {
  bytes data = f32_data({1.5f, -0.0f, 3.0e-38f});  // a (3): 12 bytes
  // b (2, 2) F16: 1, -2, 65504 (the largest half), 2^-24 (the smallest subnormal)
  for (std::uint16_t h : std::initializer_list<std::uint16_t>{0x3c00, 0xc000, 0x7bff, 0x0001})
    append_u16(data, h);
  // c (3) BF16: 1, -0.5, 2^-126 * 1.5
  for (std::uint16_t b : std::initializer_list<std::uint16_t>{0x3f80, 0xbf00, 0x00c0})
    append_u16(data, b);
  // num_batches_tracked (I64): ignored by finish
  for (int i = 0; i < 8; ++i) data.push_back(std::byte{0});
  const std::string header =
      R"({"__metadata__":{"format":"pt","note":"caf\u00e9 \"q\""},)"
      R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
      R"( "b" : { "shape" : [ 2 , 2 ] , "dtype":"F16","data_offsets":[12,20]},)"
      R"("c":{"dtype":"BF16","shape":[3],"data_offsets":[20,26]},)"
      "\n\t\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
      "\"data_offsets\":[26,34]}}   ";
  const bytes file = make_file(header, data);
  safetensors s = open(file);

  CHECK(s.metadata().at("format") == "pt");
  CHECK(s.metadata().at("note") == "caf\xc3\xa9 \"q\"");
  CHECK(s.tensors().size() == 4);
  CHECK(s.tensors().find("b")->type == dtype::f16);
  CHECK(s.tensors().find("bn.num_batches_tracked")->shape.empty());

  CHECK(read(s, "a", {3}) == std::vector<float>{1.5f, -0.0f, 3.0e-38f});
  CHECK(read(s, "b", {2, 2}) == std::vector<float>{1.0f, -2.0f, 65504.0f, 0x1p-24f});
  CHECK(read(s, "c", {3}) == std::vector<float>{1.0f, -0.5f, 0x1.8p-126f});
  CHECK_NOTHROW(s.finish());
}

TEST_CASE("safetensors: every half value converts as the IEEE definition says") {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const std::uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const float v = half_to_float(static_cast<std::uint16_t>(h));
    if (exponent == 0x1f) {
      CHECK((mantissa == 0 ? std::isinf(v) : std::isnan(v)));
    } else {
      const double expected =
          exponent == 0 ? sign * std::ldexp(mantissa, -24)
                        : sign * std::ldexp(1024 + mantissa, static_cast<int>(exponent) - 25);
      if (static_cast<double>(v) != expected) {
        FAIL_CHECK("half 0x" << std::hex << h << " gave " << v << ", expected " << expected);
      }
    }
  }
}

TEST_CASE("safetensors: a file written by tools/lmnet_tools/safetensors.py") {
  // test/fuzz/corpus/python_mixed.safetensors: make_seeds.py wrote arange values.
  safetensors s(LMNET_TEST_FUZZ_CORPUS "/python_mixed.safetensors");
  CHECK(s.metadata().at("writer") == "lmnet_tools.safetensors");
  CHECK(read(s, "layer.weight", {2, 3}) == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(read(s, "layer.bias", {2}) == std::vector<float>{-1.0f, 0.5f});  // F16
  CHECK(read(s, "scalar", {}) == std::vector<float>{2.0f});
  CHECK_NOTHROW(s.finish());  // num_batches_tracked (I64) is the only tensor left
}

namespace {

inline constexpr auto small_net = network{input{5, 5, 2}, conv2d{.out = 3},  batch_norm{},
                                          relu6,          global_avg_pool{}, dense{.out = 4}};

}  // namespace

TEST_CASE("safetensors: a model loaded from a file computes what it computes from a tensor_map") {
  struct tensor {
    std::string name;
    std::vector<std::int64_t> shape;
  };
  const std::vector<tensor> tensors = {
      {"0.weight", {3, 2, 3, 3}}, {"1.weight", {3}},    {"1.bias", {3}}, {"1.running_mean", {3}},
      {"1.running_var", {3}},     {"4.weight", {4, 3}}, {"4.bias", {4}}};
  tensor_map map;
  std::string header = "{";
  bytes data;
  std::uint32_t seed = 1;
  for (const tensor& t : tensors) {
    std::size_t n = 1;
    for (auto d : t.shape) n *= static_cast<std::size_t>(d);
    auto values = test::random_vector(n, seed++, t.name.ends_with("var") ? 0.5f : -1.0f, 1.0f);
    const std::size_t begin = data.size();
    for (float v : values) append_f32(data, v);
    if (header.size() > 1) header += ",";
    header += "\"" + t.name + "\":{\"dtype\":\"F32\",\"shape\":" + shape_string(t.shape);
    header +=
        ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
    map.insert(t.name, t.shape, values);
  }
  const bytes file = make_file(header + "}", data);

  model<small_net> from_file, from_map;
  from_file.load(open(file));
  from_map.load(map);
  const auto image = test::random_vector(from_file.input_shape.size(), 99);
  const auto a = from_file.infer(image);
  const std::vector<float> first(a.begin(), a.end());
  const auto b = from_map.infer(image);
  CHECK(first == std::vector<float>(b.begin(), b.end()));

  SUBCASE("the same file with a tensor missing fails on that tensor") {
    const bytes less = make_file(header.substr(0, header.rfind(",\"4.bias\"")) + "}", data);
    model<small_net> m;
    CHECK_THROWS_WITH_AS(m.load(open(less)),
                         Contains("test.safetensors: missing tensor '4.bias' (expected shape [4])"),
                         error);
  }
}

namespace {

// A network whose blocks lack the `body` attribute of the file's names.
inline constexpr auto flat_blocks = network{
    input{4, 4, 2},
    named("blocks",
          sequential(pointwise_conv2d{.out = 4, .bias = true}, depthwise_conv2d{.bias = true})),
    global_avg_pool{}, named("fc", dense{.out = 3})};

}  // namespace

TEST_CASE("safetensors: a name mismatch lists every missing and unexpected tensor at once") {
  const bytes file = file_of({{"blocks.0.body.weight", {4, 2, 1, 1}},
                              {"blocks.0.body.bias", {4}},
                              {"blocks.1.body.weight", {4, 1, 3, 3}},
                              {"blocks.1.body.bias", {4}},
                              {"blocks.1.num_batches_tracked", {}},
                              {"fc.weight", {3, 4}},
                              {"fc.bias", {3}}});
  model<flat_blocks> m;
  CHECK_THROWS_WITH_AS(
      m.load(open(file)),
      "lmnet: test.safetensors: the tensor names differ from the network's (4 missing, 4 "
      "unexpected):\n"
      "  missing tensor 'blocks.0.weight' (expected shape [4, 2, 1, 1]); nearest in the file: "
      "'blocks.0.body.weight' [4, 2, 1, 1]\n"
      "  missing tensor 'blocks.0.bias' (expected shape [4]); nearest in the file: "
      "'blocks.0.body.bias' [4]\n"
      "  missing tensor 'blocks.1.weight' (expected shape [4, 1, 3, 3]); nearest in the file: "
      "'blocks.1.body.weight' [4, 1, 3, 3]\n"
      "  missing tensor 'blocks.1.bias' (expected shape [4]); nearest in the file: "
      "'blocks.1.body.bias' [4]\n"
      "  unexpected tensor 'blocks.0.body.bias' [4]: no layer of the network reads it\n"
      "  unexpected tensor 'blocks.0.body.weight' [4, 2, 1, 1]: no layer of the network reads it\n"
      "  unexpected tensor 'blocks.1.body.bias' [4]: no layer of the network reads it\n"
      "  unexpected tensor 'blocks.1.body.weight' [4, 1, 3, 3]: no layer of the network reads it",
      error);
  // The same names as the network's load.
  CHECK_NOTHROW(m.load(open(file_of(expected_tensors(plan_of<flat_blocks>)))));
}

TEST_CASE("safetensors: a batch-norm variance needs variance + eps > 0, named with its file") {
  static constexpr auto net = network{input{2, 2, 1}, conv2d{.out = 2}, batch_norm{}};
  const std::vector<tensor_spec> tensors = expected_tensors(plan_of<net>);
  model<net> m;
  auto with_variance = [&](float v) { return file_of(tensors, {{"1.running_var", {1.0f, v}}}); };
  CHECK_THROWS_WITH_AS(m.load(open(with_variance(-2.0f))),
                       "lmnet: test.safetensors: tensor '1.running_var' has variance -2 at index "
                       "1: batch norm needs variance + eps > 0 (eps = 1e-05)",
                       error);
  CHECK_THROWS_WITH_AS(m.load(open(with_variance(-1e-5f))),
                       Contains("has variance -1e-05 at index 1"), error);
  CHECK_NOTHROW(m.load(open(with_variance(-0.5e-5f))));  // negative, but variance + eps > 0
  CHECK_NOTHROW(m.load(open(with_variance(0.0f))));
}

TEST_CASE("compare_tensors: a network's tensors beside a file's, one row per name") {
  bytes data = f32_data({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});  // 40 bytes, then an I64 counter
  for (int i = 0; i < 8; ++i) data.push_back(std::byte{0});
  const safetensors file = open(
      make_file(R"({"a.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                R"("a.bias":{"dtype":"I32","shape":[2],"data_offsets":[8,16]},)"
                R"("b.weights":{"dtype":"F32","shape":[1,2],"data_offsets":[16,24]},)"
                R"("c.weight":{"dtype":"F32","shape":[4],"data_offsets":[24,40]},)"
                R"("x.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[40,48]}})",
                data));
  const std::vector<tensor_spec> expected = {
      {"a.weight", {2}}, {"a.bias", {2}}, {"b.weight", {1, 2}}, {"c.weight", {3}}};
  const tensor_comparison c = compare_tensors(expected, file.tensors());
  CHECK(c.table ==
        "status      tensor                 network  file\n"
        "ok          a.weight               [2]      F32 [2]\n"
        "dtype       a.bias                 [2]      I32 [2]     F32, F16 or BF16 expected\n"
        "missing     b.weight               [1, 2]   -           nearest: b.weights\n"
        "shape       c.weight               [3]      F32 [4]\n"
        "unexpected  b.weights              -        F32 [1, 2]\n"
        "unread      x.num_batches_tracked  -        I64 []\n"
        "4 expected: 1 ok, 1 missing, 1 of another shape, 1 of another dtype; 1 unexpected\n");
  CHECK(c.problems == 4);
  CHECK(list_tensors(file) ==
        "a.bias                 I32  [2]\n"
        "a.weight               F32  [2]\n"
        "b.weights              F32  [1, 2]\n"
        "c.weight               F32  [4]\n"
        "x.num_batches_tracked  I64  []\n"
        "5 tensors, 11 values\n");
}

TEST_CASE("safetensors: reading checks names, shapes, dtypes and values") {
  SUBCASE("missing tensor") {
    safetensors s = open(make_file(good_header, good_data));
    CHECK_THROWS_WITH_AS(read(s, "v", {2, 2}),
                         "lmnet: test.safetensors: missing tensor 'v' (expected shape [2, 2])",
                         error);
  }
  SUBCASE("wrong shape") {
    safetensors s = open(make_file(good_header, good_data));
    CHECK_THROWS_WITH_AS(read(s, "w", {4}),
                         "lmnet: test.safetensors: tensor 'w' has shape [2, 2], expected [4]",
                         error);
    CHECK_THROWS_WITH_AS(read(s, "w", {2, 2, 1}), Contains("has shape [2, 2], expected [2, 2, 1]"),
                         error);
  }
  SUBCASE("unreadable dtype") {
    const bytes file =
        make_file(R"({"w":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})", good_data);
    safetensors s = open(file);
    CHECK_THROWS_WITH_AS(read(s, "w", {2, 2}),
                         Contains("tensor 'w' has dtype I32, expected F32, F16 or BF16"), error);
  }
  SUBCASE("non-finite values") {
    bytes data = f32_data({1, 2, std::numeric_limits<float>::quiet_NaN(), 4});
    safetensors s = open(make_file(good_header, data));
    CHECK_THROWS_WITH_AS(read(s, "w", {2, 2}),
                         Contains("tensor 'w' has a non-finite value (nan) at index 2"), error);
    bytes half;
    append_u16(half, 0x3c00);
    append_u16(half, 0xfc00);  // -inf
    safetensors h =
        open(make_file(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", half));
    CHECK_THROWS_WITH_AS(read(h, "h", {2}),
                         Contains("tensor 'h' has a non-finite value (-inf) at index 1"), error);
  }
  SUBCASE("extra tensors") {
    bytes data = good_data;
    for (int i = 0; i < 8; ++i) data.push_back(std::byte{0});
    safetensors s = open(
        make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                  R"("x.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[16,24]},)"
                  R"("extra":{"dtype":"F32","shape":[0],"data_offsets":[24,24]}})",
                  data));
    read(s, "w", {2, 2});
    CHECK_THROWS_WITH_AS(s.finish(),
                         "lmnet: test.safetensors: unexpected tensor 'extra': no layer of the "
                         "network reads it",
                         error);
  }
  SUBCASE("a tensor of the wrong size for its destination") {
    safetensors s = open(make_file(good_header, good_data));
    std::vector<float> out(3);
    const std::int64_t shape[] = {2, 2};
    CHECK_THROWS_WITH_AS(s.read("w", shape, out),
                         Contains("tensor 'w' holds 4 values, but the destination holds 3"), error);
  }
}

TEST_CASE("safetensors: malformed files are rejected with a message naming the problem") {
  auto rejects = [](const bytes& file, const std::string& message) {
    CHECK_THROWS_WITH_AS(open(file), Contains(doctest::String(message.c_str())), error);
  };
  auto rejects_header = [&](const std::string& header, const std::string& message,
                            const bytes& data = good_data) {
    rejects(make_file(header, data), message);
  };

  SUBCASE("too short for the header length") {
    rejects({}, "test.safetensors: the file holds 0 bytes, too few for a safetensors file");
    rejects(bytes(7), "the file holds 7 bytes, too few");
  }
  SUBCASE("header length too large") {
    bytes file = make_file(good_header, good_data);
    file[5] = std::byte{1};  // 2^40 + ...
    rejects(file, "is larger than the 104857600-byte limit: not a safetensors file");
    bytes past = make_file(good_header, {});
    past[0] = static_cast<std::byte>(good_header.size() + 1);
    rejects(past, "header length " + std::to_string(good_header.size() + 1) +
                      " runs past the end of the file (" + std::to_string(good_header.size()) +
                      " bytes follow the length): the file is truncated");
  }
  SUBCASE("truncated file") {
    bytes file = make_file(good_header, good_data);
    file.resize(file.size() - 1);
    rejects(
        file,
        "tensor 'w': data_offsets [0, 16] end past the 15 bytes of data: the file is truncated");
    bytes cut = make_file(good_header, good_data);
    cut.resize(8 + good_header.size() / 2);
    rejects(cut, "runs past the end of the file");
  }
  SUBCASE("header is not JSON") {
    const std::string invalid = "the header is not valid safetensors JSON: ";
    rejects_header("", invalid + "expected '{' at byte 0");
    rejects_header("PK\x03\x04", invalid + "expected '{' at byte 0");
    rejects_header("{", invalid + "expected a string at byte 1");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})",
                   invalid + "expected '}'");
    rejects_header(good_header + "x",
                   invalid + "unexpected text after the end of the header object");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},})",
                   invalid + "expected a string");
    rejects_header(R"({"w:{})", invalid + "unterminated string");
    rejects_header("{\"w\n\":{}}", invalid + "control character in a string");
    rejects_header(R"({"w\x":{}})", invalid + "invalid escape in a string");
    rejects_header(R"({"w\u12":{}})", invalid + "invalid \\u escape");
    rejects_header(R"({"w\ud800":{}})", invalid + "unpaired high surrogate");
    rejects_header(R"({"w\udc00":{}})", invalid + "unpaired low surrogate");
    rejects_header("{\"w\xff\":{}}", invalid + "invalid UTF-8 at byte 3");
    rejects_header("{\"w\xc0\xaf\":{}}", invalid + "invalid UTF-8");  // overlong '/'
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,02],"data_offsets":[0,16]}})",
                   invalid + "integer with a leading zero");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}})",
                   invalid + "expected a non-negative integer");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2.0],"data_offsets":[0,16]}})",
                   invalid + "expected an integer, found a fraction or exponent");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,18446744073709551616]}})",
                   invalid + "integer larger than 18446744073709551615");
    rejects_header(R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,16]}})",
                   invalid + "integer larger than 9223372036854775807");
    rejects_header(R"({"w":{"dtype":F32,"shape":[2,2],"data_offsets":[0,16]}})",
                   invalid + "expected a string");
    rejects_header(R"({"w":[]})", invalid + "expected '{'");
    std::string deep = R"({"w":{"dtype":"F32","data_offsets":[0,0],"shape":[1)";
    for (int i = 0; i < 64; ++i) deep += ",1";
    rejects_header(deep + "]}}", invalid + "tensor 'w': more than 64 dimensions");
  }
  SUBCASE("header structure") {
    const std::string invalid = "the header is not valid safetensors JSON: ";
    rejects_header(good_header.substr(0, good_header.size() - 1) + R"(,"w":{}})",
                   invalid + "key 'w' appears twice");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"shape":[4],"data_offsets":[0,16]}})",
                   invalid + "tensor 'w': field 'shape' appears twice");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2]}})",
                   invalid + "tensor 'w': missing field 'data_offsets'");
    rejects_header(R"({"w":{"shape":[2,2],"data_offsets":[0,16]}})",
                   invalid + "tensor 'w': missing field 'dtype'");
    rejects_header(
        R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16],"strides":[2,1]}})",
        invalid +
            "tensor 'w': unexpected field 'strides' (expected dtype, shape and data_offsets)");
    rejects_header(R"({"w":{"dtype":"F31","shape":[2,2],"data_offsets":[0,16]}})",
                   invalid + "tensor 'w': unknown dtype 'F31'");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8,16]}})",
                   invalid + "tensor 'w': data_offsets holds 3 numbers, expected 2 (begin, end)");
    rejects_header(R"({"__metadata__":{"a":1},"w":{}})", invalid + "expected a string");
    rejects_header(R"({"__metadata__":{"a":"1","a":"2"}})",
                   invalid + "metadata key 'a' appears twice");
    rejects_header(R"({"__metadata__":{},"__metadata__":{}})",
                   invalid + "key '__metadata__' appears twice");
  }
  SUBCASE("offsets outside the data, reversed, or of the wrong size") {
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}})",
                   "tensor 'w': data_offsets [16, 0] are reversed");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[4,20]}})",
                   "tensor 'w': data_offsets [4, 20] end past the 16 bytes of data");
    rejects_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,18446744073709551615]}})",
                   "tensor 'w': data_offsets [0, 18446744073709551615] end past the 16 bytes");
    rejects_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})",
                   "tensor 'w' holds 16 bytes, but shape [3] of F32 needs 12");
    rejects_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})",
                   "tensor 'w' has shape [4294967296, 4294967296], too many elements to address");
  }
  SUBCASE("overlapping tensors") {
    rejects_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                   "tensors 'a' (bytes [0, 12]) and 'b' (bytes [8, 16]) overlap");
    rejects_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                   R"("b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})",
                   "tensors 'a' (bytes [0, 16]) and 'b' (bytes [4, 8]) overlap");
  }
  SUBCASE("a control character in a tensor name") {
    auto with_name = [](const std::string& name) {
      return R"({")" + name + R"(":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    };
    const std::string message = "lmnet: test.safetensors: tensor name ";
    rejects_header(with_name(R"(a\u0000b)"),
                   message + "'a\\u0000b' holds a control character at byte 1");
    rejects_header(with_name(R"(blocks.0\u001f)"),
                   message + "'blocks.0\\u001f' holds a control character at byte 8");
    rejects_header(with_name("a\x7f"), message + "'a\\u007f' holds a control character at byte 1");
    rejects_header(with_name(R"(\u0085x)"),
                   message + "'\\u0085x' holds a control character at byte 0");  // C1, NEL
    // Before any other check quotes the name (here, its unknown dtype).
    rejects_header(R"({"\u0000":{"dtype":"F31","shape":[2,2],"data_offsets":[0,16]}})",
                   message + "'\\u0000' holds a control character at byte 0");
    // Printable non-ASCII names, and newlines in metadata values, are fine.
    CHECK_NOTHROW(open(make_file(R"({"__metadata__":{"note":"two\nlines"},)"
                                 R"("caf\u00e9\u00a0":{"dtype":"F32","shape":[2,2],)"
                                 R"("data_offsets":[0,16]}})",
                                 good_data)));
  }
  SUBCASE("empty tensors and the metadata may be anywhere") {
    CHECK_NOTHROW(open(
        make_file(R"({"e":{"dtype":"F32","shape":[0,5],"data_offsets":[16,16]},)"
                  R"("__metadata__":null,"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
                  good_data)));
    CHECK_NOTHROW(open(make_file("{}")));
  }
  SUBCASE("a file that cannot be opened") {
    CHECK_THROWS_WITH_AS(
        safetensors{"/nonexistent/model.safetensors"},
        "lmnet: cannot open '/nonexistent/model.safetensors': No such file or directory", error);
    CHECK_THROWS_WITH_AS(safetensors{"/"}, Contains("cannot read '/'"), error);
  }
}

TEST_CASE("safetensors: a file read from disk equals the same bytes in memory") {
  const bytes file = make_file(good_header, good_data);
  const std::string path = "lmnet_safetensors_test.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.data()),
              static_cast<std::streamsize>(file.size()));
  }
  safetensors s(path);
  CHECK(read(s, "w", {2, 2}) == std::vector<float>{1, 2, 3, 4});
  safetensors view(std::span<const std::byte>(file), "view");  // not copied: `file` outlives it
  CHECK(read(view, "w", {2, 2}) == std::vector<float>{1, 2, 3, 4});
  CHECK(view.tensors().find("w")->bytes.data() == file.data() + 8 + good_header.size());
  safetensors moved = std::move(s);  // the table keeps viewing the owned bytes
  CHECK(read(moved, "w", {2, 2}) == std::vector<float>{1, 2, 3, 4});
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(safetensors{path},
                       Contains("lmnet: cannot open 'lmnet_safetensors_test.safetensors'"), error);
}
