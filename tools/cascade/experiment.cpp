// SPDX-License-Identifier: Apache-2.0
// The dual complementary CNNs with memory (Kinnas et al., 2024), reproduced on Fashion-MNIST with
// lmnet's cascade and result cache. Run by ./scripts/cascade-experiment; docs/cascade.md explains
// the method and the results.
//
//   lmnet_cascade_experiment logits    --work DIR [--models a,b] [--sets val,test,...] [--limit N]
//                                      [--backend simd|int8]
//       runs pool models batch-1 over image sets, keeping logits and per-image times (.npy)
//   lmnet_cascade_experiment calibrate --work DIR [--budget 0.3]
//       on the validation split: complementarity of every pair, lambda* of every rule, the
//       learned rule, the pair and the small model the experiment uses, the centred memory's
//       confirmation (over several rounds of noisy and shifted copies of the split); the pair in
//       int8 and its rule's lambda* in int8
//   lmnet_cascade_experiment run       --work DIR [--limit N] [--live N]
//       every configuration on every test set, streamed batch-1; per memory its hits, wrong
//       hits and own time; ends with one line each:
//       cascade <dataset> <config> accuracy=.. macs_per_image=.. ms_per_image=.. second_rate=..
//               hit_rate=.. saving_vs_large=.. wrong_hit_rate=.. memory_us_per_image=..
//       and one line per dataset comparing the pair in int8 with the same pair in fp32 (its
//       times from the pair's models timed in fp32 and in int8 in turn):
//       int8 <dataset> <config> accuracy=.. fp32_accuracy=.. ms_per_image=.. fp32_ms_per_image=..
//            saving_vs_fp32=.. weight_bytes_per_image=.. fp32_weight_bytes_per_image=..
//            weight_bytes_saving=..
// Common options: --weights DIR (<model>.safetensors, default examples/weights/fashion_mnist),
// --large NAME (default mobilenet_v2_cifar), --data DIR (the dataset's gzip IDX files),
// --int8-images N (the training images int8 calibration runs on, default 200).
//
// The pool is every model whose weights are in the weights directory; the small models are those
// with fewer MACs than the large one. A pair starts with a small model; its second model is any
// other pool model, the large one included. The tool writes logits/, calibration/, int8/,
// results.csv and int8.csv under the work directory. Logits are computed once per model, set,
// weights and backend and reused.
//
// int8. The pair also runs in int8 (backend::int8 of the same simd kernels): each of its models
// is calibrated on training images outside the validation split (never test images), the
// calibrated file kept under int8/, and the selected rule's lambda* (and the learned rule)
// calibrated again on the int8 models' validation logits, as a device running them would.
//
// How time is measured. Every model's per-image time is measured when its logits are computed
// (thread CPU time, so that other processes on a shared machine do not count; wall time is kept
// too). A configuration then streams its dataset through the real lmnet::cascade and
// lmnet::cached objects, whose models replay those logits and add those measured times; the rest
// (hashing, cache lookups and insertions, softmax, scores, rules) is measured on the spot. A
// memory's own time (keys, lookups, insertions) is measured apart: its stream is run again in
// front of the answers it gave, five times, and the median kept. `--live N` also runs the first N
// images of every dataset with the real models end to end, and prints both figures side by side.
// The pair's models are also timed in fp32 and in int8 in turn over the same images (the median of
// five passes each): the int8 lines compare the two at those times, so that a difference of a few
// percent does not rest on passes measured at other times, under other loads.
//
// Wrong hits. A hit is wrong when its answer differs from what the same cascade, without the
// memory, answers for that image: on distinct images, the memory answered for another picture;
// on copies, either that, or the models answer the copy otherwise than its original.
#include "datasets.hpp"
#include "memories.hpp"
#include "npy.hpp"
#include "pool.hpp"

#include <lmnet/cascade.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <time.h>
#include <vector>

using namespace lmnet;
using namespace lmnet::tools;
namespace fs = std::filesystem;

namespace {

constexpr int classes = 10;

// ---------------------------------------------------------------------------------------------
// Clocks and the energy counter

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The CPU package energy counter (Intel RAPL), when the machine exposes it.
std::optional<double> energy_joules() {
  std::ifstream in("/sys/class/powercap/intel-rapl:0/energy_uj");
  double microjoules = 0;
  if (in >> microjoules) return microjoules * 1e-6;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Command line

struct options {
  std::string command;
  fs::path work;
  fs::path weights = "examples/weights/fashion_mnist";
  std::string data{fashion_mnist::default_root};
  std::string large{default_large_model};
  std::vector<std::string> models, sets;
  std::size_t limit = 0;          // test images used (0: all)
  std::size_t val_limit = 0;      // validation images used (0: all)
  std::size_t live = 0;           // images per dataset also run end to end with the real models
  std::size_t int8_images = 200;  // training images int8 calibration runs on
  bool int8 = false;              // logits: the models in int8
  double budget = 0.3;  // pair selection: most expected MACs, as a fraction of the large model's
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

options parse(int argc, char** argv) {
  options o;
  if (argc < 2)
    throw error("usage: lmnet_cascade_experiment logits|calibrate|run --work DIR [options]");
  o.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw error("option " + flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--work")
      o.work = value;
    else if (flag == "--weights")
      o.weights = value;
    else if (flag == "--data")
      o.data = value;
    else if (flag == "--large")
      o.large = value;
    else if (flag == "--models")
      o.models = split_list(value);
    else if (flag == "--sets")
      o.sets = split_list(value);
    else if (flag == "--limit")
      o.limit = std::stoul(value);
    else if (flag == "--val-limit")
      o.val_limit = std::stoul(value);
    else if (flag == "--live")
      o.live = std::stoul(value);
    else if (flag == "--budget")
      o.budget = std::stod(value);
    else if (flag == "--int8-images")
      o.int8_images = std::stoul(value);
    else if (flag == "--backend" && (value == "simd" || value == "int8"))
      o.int8 = value == "int8";
    else
      throw error("unknown option " + flag);
  }
  if (o.work.empty()) throw error("--work DIR is required");
  find_member(o.large);  // a name the pool knows
  return o;
}

// ---------------------------------------------------------------------------------------------
// Image sets

// The validation split's perturbed copies are drawn in several rounds, so that the memory's
// tuning counts its rare wrong hits over more copies than one round holds.
constexpr std::size_t validation_rounds = 4;

/// The name of the image set of `split`'s copies perturbed by `kind` in `round` ("test_noise",
/// "val_shift", "val_shift_2", ...).
std::string copies_name(const std::string& split, perturbation kind, std::size_t round = 0) {
  return split + "_" + std::string(perturbation_name(kind)) +
         (round == 0 ? "" : "_" + std::to_string(round));
}

/// The images the models run on, by name: "val", "test", and their perturbed copies (see
/// `copies_name`; the test set's in round 0 only); and the images int8 calibration runs on.
struct image_sets {
  image_set val, test, test_noise, test_shift;
  std::vector<image_set> val_noise, val_shift;  // one per round
  image_set int8_calibration;

  image_sets(const options& o) {
    const std::string& data = o.data;
    const image_set train = load_fashion_mnist(data, "train");
    val = validation_split(train);
    if (o.val_limit != 0) val = first(val, o.val_limit);
    int8_calibration = int8_calibration_split(train, o.int8_images);
    for (std::size_t round = 0; round < validation_rounds; ++round) {
      val_noise.push_back(duplicates(val, perturbation::noise, round));
      val_shift.push_back(duplicates(val, perturbation::shift, round));
    }
    test = load_fashion_mnist(data, "t10k");
    if (o.limit != 0) test = first(test, o.limit);
    test_noise = duplicates(test, perturbation::noise);
    test_shift = duplicates(test, perturbation::shift);
  }

  const image_set& operator[](const std::string& name) const {
    if (name == "val") return val;
    if (name == "test") return test;
    if (name == copies_name("test", perturbation::noise)) return test_noise;
    if (name == copies_name("test", perturbation::shift)) return test_shift;
    for (std::size_t round = 0; round < validation_rounds; ++round) {
      if (name == copies_name("val", perturbation::noise, round)) return val_noise[round];
      if (name == copies_name("val", perturbation::shift, round)) return val_shift[round];
    }
    throw error("no image set named '" + name + "' (val, test, " +
                copies_name("val", perturbation::noise, 1) + ", " +
                copies_name("test", perturbation::shift) + ", ...)");
  }
};

// ---------------------------------------------------------------------------------------------
// Phase 1: logits and per-image times of one model on one image set

struct model_outputs {
  std::vector<float> logits;  // rows of 10
  std::vector<double> cpu_ms, wall_ms;
  double joules = -1.0;  // whole pass, when RAPL is there

  std::size_t size() const { return cpu_ms.size(); }
  std::span<const float> row(std::size_t i) const {
    return std::span<const float>(logits).subspan(i * classes, classes);
  }
  int answer(std::size_t i) const { return argmax(row(i)); }
};

std::string weights_fingerprint(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  char text[32];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(xxh64(std::as_bytes(std::span(bytes)))));
  return text;
}

fs::path weights_file(const options& o, std::string_view model_name) {
  return o.weights / (std::string(model_name) + ".safetensors");
}

/// The preprocessed inputs of every image of a set, one after another.
std::vector<float> inputs_of(const image_set& images) {
  std::vector<float> inputs(images.size() * input_floats);
  for (std::size_t i = 0; i < images.size(); ++i)
    preprocess(images.image(i), std::span<float>(inputs).subspan(i * input_floats, input_floats));
  return inputs;
}

enum class precision { fp32, int8 };

std::string_view backend_name(precision p) {
  return p == precision::fp32 ? experiment_backend_name : experiment_int8_backend_name;
}

/// The model calibrated for int8 (int8/<model>.safetensors, the file an int8 model loads), and
/// what it was calibrated from (`description`): written now unless there with the same weights
/// and calibration images.
struct calibrated_model {
  fs::path file;
  std::string description;
};

/// How the calibration chooses each tensor's range: lmnet's default.
std::string calibration_rule() {
  const quantization_options defaults{};
  if (defaults.rule == range_rule::min_max) return "min_max";
  std::ostringstream rule;
  rule << "percentile " << defaults.percentile;
  return rule.str();
}

calibrated_model calibrated_file(const options& o, const image_sets& sets,
                                 const std::string& model_name) {
  const fs::path weights = weights_file(o, model_name);
  if (!fs::exists(weights)) throw error("no weights for " + model_name + " at " + weights.string());
  const image_set& images = sets.int8_calibration;
  std::ostringstream description;
  description << "weights=" << weights_fingerprint(weights) << " rule=" << calibration_rule()
              << " calibration_images=" << images.size() << " calibration_pixels=" << std::hex
              << xxh64(std::span<const std::uint8_t>(images.pixels));
  const calibrated_model out{o.work / "int8" / (model_name + ".safetensors"), description.str()};
  const fs::path meta = fs::path(out.file).replace_extension(".meta");
  std::ifstream old_meta(meta);
  std::string old;
  std::getline(old_meta, old);
  if (old == out.description && fs::exists(out.file)) return out;

  std::fprintf(stderr, "calibrating %s for int8 on %zu training images\n", model_name.c_str(),
               images.size());
  fs::create_directories(out.file.parent_path());
  fs::remove(meta);
  find_member(model_name)
      .calibrate_int8(weights.string(), inputs_of(images), out.file.string(),
                      {{"lmnet.calibration",
                        calibration_rule() + " over the first " + std::to_string(images.size()) +
                            " Fashion-MNIST training images outside the validation split"}});
  std::ofstream(meta) << out.description << "\n";
  return out;
}

/// The model ready to run: fp32 from its weights, int8 from its calibrated file.
any_model load_model(const options& o, const image_sets& sets, const std::string& model_name,
                     precision p) {
  const pool_member& member = find_member(model_name);
  if (p == precision::int8) return member.make_int8(calibrated_file(o, sets, model_name).file);
  return member.make(weights_file(o, model_name).string());
}

/// The model's outputs on the set, from logits/ when computed before with the same weights,
/// images and backend (and in int8, the same calibration), otherwise measured now.
model_outputs outputs_of(const options& o, const image_sets& sets, const std::string& model_name,
                         const std::string& set_name, precision kind = precision::fp32) {
  const image_set& images = sets[set_name];
  const fs::path weights = weights_file(o, model_name);
  if (!fs::exists(weights)) throw error("no weights for " + model_name + " at " + weights.string());
  const std::string suffix = kind == precision::int8 ? ".int8" : "";
  const fs::path base =
      o.work / "logits" /
      (model_name + suffix + "." + set_name + "-" + std::to_string(images.size()));
  std::ostringstream meta;
  meta << "backend=" << backend_name(kind) << " weights=" << weights_fingerprint(weights)
       << " images=" << images.size() << " pixels=" << std::hex
       << xxh64(std::span<const std::uint8_t>(images.pixels)) << "\n";
  if (kind == precision::int8) meta << calibrated_file(o, sets, model_name).description << "\n";

  model_outputs out;
  std::ifstream old_meta(base.string() + ".meta");
  std::string old((std::istreambuf_iterator<char>(old_meta)), std::istreambuf_iterator<char>());
  if (old.rfind(meta.str(), 0) == 0) {
    out.logits = load_npy<float>(base.string() + ".logits.npy").data;
    const std::vector<double> ms = load_npy<double>(base.string() + ".ms.npy").data;
    for (std::size_t i = 0; i < images.size(); ++i) {
      out.cpu_ms.push_back(ms[2 * i]);
      out.wall_ms.push_back(ms[2 * i + 1]);
    }
    if (const auto p = old.find("joules="); p != std::string::npos)
      out.joules = std::stod(old.substr(p + 7));
    if (out.logits.size() == images.size() * classes) return out;
  }

  std::fprintf(stderr, "measuring %s on %s (%zu images, %s backend)\n", model_name.c_str(),
               set_name.c_str(), images.size(), std::string(backend_name(kind)).c_str());
  any_model m = load_model(o, sets, model_name, kind);
  std::vector<float> input(input_floats);
  preprocess(images.image(0), input);
  for (int i = 0; i < 25; ++i) m.infer(input);  // warm-up, as the paper drops its first 25 samples
  const std::optional<double> energy_before = energy_joules();
  std::vector<double> ms;
  for (std::size_t i = 0; i < images.size(); ++i) {
    preprocess(images.image(i), input);
    const double c0 = cpu_ms(), w0 = wall_ms();
    const std::span<const float> logits = m.infer(input);
    const double c1 = cpu_ms(), w1 = wall_ms();
    out.logits.insert(out.logits.end(), logits.begin(), logits.end());
    out.cpu_ms.push_back(c1 - c0);
    out.wall_ms.push_back(w1 - w0);
    ms.push_back(c1 - c0);
    ms.push_back(w1 - w0);
    if ((i + 1) % 1000 == 0) std::fprintf(stderr, "  %zu / %zu\n", i + 1, images.size());
  }
  if (const std::optional<double> energy_after = energy_joules(); energy_before && energy_after) {
    out.joules = *energy_after - *energy_before;
  }
  fs::create_directories(base.parent_path());
  save_npy(base.string() + ".logits.npy", {images.size(), static_cast<std::size_t>(classes)},
           out.logits);
  save_npy(base.string() + ".ms.npy", {images.size(), std::size_t{2}}, ms);
  std::ofstream(base.string() + ".meta") << meta.str() << "joules=" << out.joules << "\n";
  return out;
}

double accuracy(const model_outputs& m, const std::vector<int>& labels) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += m.answer(i) == labels[i];
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

std::vector<int> answers(const model_outputs& m) {
  std::vector<int> a(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) a[i] = m.answer(i);
  return a;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// ---------------------------------------------------------------------------------------------
// Streams: the images of a dataset one at a time, the models replaying their measurements

/// A model that answers with logits measured before, and adds their measured time.
class replay_model {
 public:
  explicit replay_model(std::vector<const model_outputs*> sets) : sets_(std::move(sets)) {}
  void at(std::size_t set, std::size_t row) { set_ = set, row_ = row; }
  std::span<const float> infer(std::span<const float>) {
    ++runs;
    ms += sets_[set_]->cpu_ms[row_];
    return sets_[set_]->row(row_);
  }
  std::uint64_t runs = 0;
  double ms = 0;

 private:
  std::vector<const model_outputs*> sets_;
  std::size_t set_ = 0, row_ = 0;
};

/// A real model on the input of the current stream item (live runs).
class live_model {
 public:
  live_model(any_model& m, const std::vector<float>& inputs) : model_(&m), inputs_(&inputs) {}
  void at(std::size_t, std::size_t item) { item_ = item; }
  std::span<const float> infer(std::span<const float>) {
    ++runs;
    return model_->infer(
        std::span<const float>(*inputs_).subspan(item_ * input_floats, input_floats));
  }
  std::uint64_t runs = 0;
  double ms = 0;  // included in the stream's own measurement

 private:
  any_model* model_;
  const std::vector<float>* inputs_;
  std::size_t item_ = 0;
};

/// One image of a dataset's stream: which image set and row its logits come from (0: the split's
/// images, 1: their noisy copies, 2: their shifted copies), its label, its raw bytes (for the
/// cache keys).
struct item {
  std::size_t set = 0, row = 0, source = 0;  // source: the image of the split it is (a copy of)
  int label = 0;
  std::span<const std::uint8_t> raw;
};

struct dataset {
  std::string name;
  std::vector<item> items;
  bool duplicated = false;  // the split's images, then a copy of each
};

/// The streams of a split (`name`: "test" or "val"): its images as they are; duplicated (the
/// paper's d = 1.0: every image once more, the copies appended in a random order); and duplicated
/// with every copy perturbed by noise, or shifted.
std::vector<dataset> make_datasets(const std::string& name, const image_set& originals,
                                   const image_set& noisy, const image_set& shifted) {
  const std::vector<std::uint32_t> sources = duplicate_sources(originals.size());
  std::vector<item> plain;
  for (std::size_t i = 0; i < originals.size(); ++i)
    plain.push_back({0, i, i, originals.labels[i], originals.image(i)});
  // Duplicates are appended after all originals (exact copies, or perturbed ones from their set).
  auto doubled = [&](std::size_t set, const image_set* perturbed) {
    std::vector<item> items = plain;
    for (std::size_t j = 0; j < sources.size(); ++j) {
      const std::size_t source = sources[j];
      if (perturbed == nullptr) {
        items.push_back({0, source, source, originals.labels[source], originals.image(source)});
      } else {
        items.push_back({set, j, source, perturbed->labels[j], perturbed->image(j)});
      }
    }
    return items;
  };
  return {{name, plain, false},
          {name + "_dup", doubled(0, nullptr), true},
          {name + "_noisy_dup", doubled(1, &noisy), true},
          {name + "_shifted_dup", doubled(2, &shifted), true}};
}

/// The first `count` images of a dataset's stream, keeping its shape: half originals, then the
/// duplicates of those originals in stream order.
dataset shorten(const dataset& d, std::size_t count) {
  dataset out{d.name, {}, d.duplicated};
  const std::size_t originals = d.duplicated ? count / 2 : count;
  for (const item& it : d.items) {
    if (it.source < originals && out.items.size() < count) out.items.push_back(it);
  }
  return out;
}

/// Places `models` on image `index` of a stream: replayed models on the logits of its set and
/// row, live ones on the stream's own inputs.
template <class Model>
void place(std::initializer_list<Model*> models, const item& it, std::size_t index) {
  for (Model* model : models) model->at(it.set, std::is_same_v<Model, live_model> ? index : it.row);
}

/// The answers of `classify(item, index)` over a stream, `models` placed on each image.
template <class Model, class Classify>
std::vector<prediction> answers_of(const std::vector<item>& items,
                                   std::initializer_list<Model*> models, Classify&& classify) {
  std::vector<prediction> out(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    place(models, items[i], i);
    out[i] = classify(items[i], i);
  }
  return out;
}
/// The centred memory's confirmation, as tuned on the validation split.
struct memory_tuning {
  float max_thumbnail_distance = 0.0f;
  float min_probability = 0.0f;
};

/// What the calibration chose (calibration/selection.txt).
struct selection {
  std::string large, first, second, small, rule;
  bool post_check = false;
  std::map<std::string, std::map<bool, float>> thresholds;  // rule -> post_check -> lambda
  std::map<std::string, std::map<bool, double>> val_accuracy;
  learned_rule learned;
  std::optional<memory_tuning> memory;
};

selection read_selection(const fs::path& dir) {
  std::ifstream in(dir / "selection.txt");
  if (!in) throw error("no " + (dir / "selection.txt").string() + ": run the calibrate step first");
  selection s;
  for (std::string key; in >> key;) {
    if (key == "large")
      in >> s.large;
    else if (key == "first")
      in >> s.first;
    else if (key == "second")
      in >> s.second;
    else if (key == "small")
      in >> s.small;
    else if (key == "rule")
      in >> s.rule >> s.post_check;
    else if (key == "budget_macs")
      in >> key;  // for tools/cascade/report.py; may be "inf", which a double would not read
    else if (key == "memory") {
      memory_tuning m;
      in >> m.max_thumbnail_distance >> m.min_probability;
      s.memory = m;
    } else if (key == "threshold") {
      std::string rule;
      bool post_check = false;
      float t = 0;
      double acc = 0;
      in >> rule >> post_check >> t >> acc;
      s.thresholds[rule][post_check] = t;
      s.val_accuracy[rule][post_check] = acc;
    }
  }
  std::ifstream rule_file(dir / "learned_rule.txt");
  s.learned = learned_rule::parse(
      std::string((std::istreambuf_iterator<char>(rule_file)), std::istreambuf_iterator<char>()));
  return s;
}

/// Calls `use(rule)` with the selected rule of the pair at its lambda*.
template <class Use>
void with_selected_rule(const selection& s, Use&& use) {
  const float threshold = s.thresholds.at(s.rule).at(s.post_check);
  if (s.rule == "learned") {
    use(s.learned.with_threshold(threshold));
  } else {
    use(threshold_rule{parse_score(s.rule), threshold});
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: calibration on the validation split

// The perceptual memories hash with a dead zone of 4 grey levels (noise does not flip the bits of
// flat regions) and match within 6 bits; the frame's thumbnails must be within 3 grey levels, the
// centred ones within the distance tuned on the validation split.
constexpr dhash_options perceptual_hash_options{.dead_zone = 4.0f};
constexpr int perceptual_radius = 6;
constexpr float perceptual_thumbnail_distance = 3.0f;
constexpr std::size_t memory_capacity = 32768;

// The memory's wrong hits per image aim to stay under 0.001. The tuning keeps a factor of two in
// hand, with 90% confidence on the validation streams: the validation split is drawn as the
// training images were, and the models are surer of such images than of new ones.
constexpr double memory_wrong_hit_limit = 0.0005;
constexpr std::array<float, 6> tuned_thumbnail_distances = {3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f};
constexpr std::array<float, 15> tuned_min_probabilities = {0.99f, 0.98f, 0.97f, 0.96f, 0.95f,
                                                           0.94f, 0.93f, 0.92f, 0.91f, 0.9f,
                                                           0.88f, 0.86f, 0.84f, 0.8f,  0.0f};

memory_setup centred_memory(const memory_tuning& tuned) {
  return {"dual_memory_centred",
          memory_key::centred,
          {.capacity = memory_capacity,
           .radius = perceptual_radius,
           .max_thumbnail_distance = tuned.max_thumbnail_distance},
          perceptual_hash_options,
          {.min_probability = tuned.min_probability}};
}

/// The memories of the run: exact keys; the paper's dictionary (classic dHash, equal hashes match,
/// nothing confirms); the frame's perceptual key; the same probed at the one-pixel moves; the
/// centred key. The last two remember only answers as sure as the tuning found safe.
std::vector<memory_setup> memories(const memory_tuning& tuned) {
  const cache_options frame{.capacity = memory_capacity,
                            .radius = perceptual_radius,
                            .max_thumbnail_distance = perceptual_thumbnail_distance};
  return {{"dual_memory_exact", memory_key::exact, {.capacity = memory_capacity}},
          {"dual_memory_dhash", memory_key::perceptual, {.capacity = memory_capacity}},
          {"dual_memory_perceptual", memory_key::perceptual, frame, perceptual_hash_options},
          {"dual_memory_probes",
           memory_key::probes,
           frame,
           perceptual_hash_options,
           {.min_probability = tuned.min_probability}},
          centred_memory(tuned)};
}

/// What a memory did over a stream: its answers, its hits, and its wrong hits (hits whose answer
/// differs from what the models answer for that image without the memory).
struct memory_outcome {
  std::vector<prediction> answers;
  std::uint64_t hits = 0, wrong_hits = 0;
  cache_stats cache{};
};

/// A fresh memory of `setup` in front of `inner` over a stream of `images`: `drive(classify)` calls
/// `classify(item, index)` for every image in order, its models placed; `models` holds what the
/// models answer on their own.
template <class Inner, class Drive>
memory_outcome run_memory(const memory_setup& setup, Inner& inner,
                          const std::vector<prediction>& models, Drive&& drive) {
  memory_outcome out;
  out.answers.resize(models.size());
  with_memory(setup, inner, [&](auto& memory) {
    drive([&](const item& it, std::size_t i) {
      const prediction answer = memory.classify(it.raw);
      out.answers[i] = answer;
      if (memory.last_hit()) {
        ++out.hits;
        out.wrong_hits += answer.label != models[i].label;
      }
      return answer;
    });
    out.cache = memory.stats();
  });
  return out;
}

/// How often the models answer a copy otherwise than its original, over a duplicated stream (its
/// originals first, in order): a floor under a memory's wrong hits on the copies it answers.
double copies_answered_otherwise(const dataset& d, const std::vector<prediction>& models) {
  std::size_t originals = 0;
  while (originals < d.items.size() && d.items[originals].source == originals) ++originals;
  if (originals == d.items.size()) return 0.0;
  std::size_t otherwise = 0;
  for (std::size_t i = originals; i < d.items.size(); ++i)
    otherwise += models[i].label != models[d.items[i].source].label;
  return static_cast<double>(otherwise) / static_cast<double>(d.items.size() - originals);
}

/// The upper end of a one-sided 90% confidence interval for the mean of a Poisson count observed
/// as `count`: the mean under which `count` or fewer would be seen one time in ten.
double poisson_upper_bound(std::uint64_t count) {
  auto at_most_count = [&](double mean) {
    double p = 0.0;  // terms in logarithms: no underflow for large means
    for (std::uint64_t i = 0; i <= count; ++i) {
      const double k = static_cast<double>(i);
      p += std::exp(k * std::log(mean) - mean - std::lgamma(k + 1.0));
    }
    return p;
  };
  double low = 0.0, high = 10.0 + 2.0 * static_cast<double>(count);
  for (int step = 0; step < 60; ++step) {
    const double middle = 0.5 * (low + high);
    (at_most_count(middle) > 0.1 ? low : high) = middle;
  }
  return high;
}

/// One round of the validation split's copies, behind the selected cascade's models.
struct validation_round {
  replay_model first, second;
  dataset noisy, shifted;  // the split's images, then one copy of each
};

/// The centred memory's confirmation, tuned on the validation split's streams with noisy and with
/// shifted copies (every round) behind the selected cascade: of the grid points whose wrong-hit
/// rate stays under the limit on both kinds of copies, with 90% confidence, the one with the most
/// hits on the harder; ties go to the stricter (the grid runs from strict to loose).
memory_tuning tune_memory(std::vector<validation_round>& rounds, const selection& s) {
  const std::span<const float> none;  // the replayed models need no input
  struct counts {
    double images = 0;
    std::uint64_t hits = 0, wrong_hits = 0;
  };
  memory_tuning best;
  double best_hits = -1.0;
  with_selected_rule(s, [&](const auto& rule) {
    // What the models answer on every stream, without a memory.
    std::vector<std::array<std::vector<prediction>, 2>> models;
    for (validation_round& r : rounds) {
      cascade dual(r.first, r.second, rule, {.post_check = s.post_check});
      auto answers = [&](const dataset& d) {
        return answers_of(d.items, {&r.first, &r.second},
                          [&](const item&, std::size_t) { return dual.classify(none); });
      };
      models.push_back({answers(r.noisy), answers(r.shifted)});
    }
    std::array<double, 2> otherwise{};
    const double share = 1.0 / static_cast<double>(rounds.size());
    for (std::size_t k = 0; k < rounds.size(); ++k) {
      otherwise[0] += share * copies_answered_otherwise(rounds[k].noisy, models[k][0]);
      otherwise[1] += share * copies_answered_otherwise(rounds[k].shifted, models[k][1]);
    }
    std::printf(
        "\ncentred memory on the validation split, %zu rounds of copies (without a memory, the "
        "cascade answers %.2f%% of the noisy copies and %.2f%% of the shifted ones otherwise than "
        "their originals):\nhit rate on the harder of the noisy and shifted streams / wrong hits "
        "per 10,000 images on the worse ('*': its 90%% upper bound over %.4f)\n  min_probability "
        "\\ max_thumbnail_distance",
        rounds.size(), 100 * otherwise[0], 100 * otherwise[1], memory_wrong_hit_limit);
    for (float t : tuned_thumbnail_distances) std::printf(" %10.1f", static_cast<double>(t));
    std::printf("\n");
    for (float p : tuned_min_probabilities) {
      std::printf("  %-42.2f", static_cast<double>(p));
      for (float t : tuned_thumbnail_distances) {
        std::array<counts, 2> kinds;  // noisy, shifted
        for (std::size_t k = 0; k < rounds.size(); ++k) {
          validation_round& r = rounds[k];
          cascade dual(r.first, r.second, rule, {.post_check = s.post_check});
          const dataset* streams[] = {&r.noisy, &r.shifted};
          for (std::size_t kind = 0; kind < 2; ++kind) {
            const std::vector<item>& items = streams[kind]->items;
            const memory_outcome m =
                run_memory(centred_memory({t, p}), dual, models[k][kind], [&](auto&& classify) {
                  answers_of(items, {&r.first, &r.second}, classify);
                });
            kinds[kind].images += static_cast<double>(items.size());
            kinds[kind].hits += m.hits;
            kinds[kind].wrong_hits += m.wrong_hits;
          }
        }
        double hits = 1.0, wrong = 0.0, wrong_bound = 0.0;
        for (const counts& c : kinds) {
          hits = std::min(hits, static_cast<double>(c.hits) / c.images);
          wrong = std::max(wrong, static_cast<double>(c.wrong_hits) / c.images);
          wrong_bound = std::max(wrong_bound, poisson_upper_bound(c.wrong_hits) / c.images);
        }
        const bool within = wrong_bound <= memory_wrong_hit_limit;
        std::printf(" %5.1f%%/%3.0f%s", 100 * hits, 1e4 * wrong, within ? " " : "*");
        if (within && hits > best_hits) best = {t, p}, best_hits = hits;
      }
      std::printf("\n");
    }
  });
  if (best_hits < 0) throw error("no centred memory setting keeps wrong hits under the limit");
  std::printf("  chosen: max_thumbnail_distance %.1f, min_probability %.2f\n",
              static_cast<double>(best.max_thumbnail_distance),
              static_cast<double>(best.min_probability));
  return best;
}

/// A rule of the cascade as the calibration chose it.
struct rule_choice {
  std::string rule;  // maxp, margin, entropy, learned
  bool post_check = false;
  float threshold = 0.0f;
  double accuracy = 0.0, second_rate = 0.0, expected_macs = 0.0;
};

struct pair_result {
  std::string first, second;
  std::vector<rule_choice> rules;  // every rule, with and without post-check
  learned_rule learned;
};

/// Every rule's lambda* for `first` then `second`, on validation data.
pair_result calibrate_pair(const std::string& first_name, const std::string& second_name,
                           const model_outputs& a, const model_outputs& b,
                           const std::vector<int>& labels) {
  pair_result r{first_name, second_name, {}, {}};
  const double macs_a = static_cast<double>(find_member(first_name).macs);
  const double macs_b = static_cast<double>(find_member(second_name).macs);
  auto record = [&](const std::string& rule, bool post_check, const threshold_choice& c) {
    r.rules.push_back({rule, post_check, c.threshold, c.accuracy, c.second_rate,
                       macs_a + c.second_rate * macs_b});
  };
  for (score s : all_scores) {
    const threshold_rule rule{s, 0.0f};
    const pair_outcomes o = pair_outcomes::of(rule, a.logits, b.logits, labels, classes);
    for (bool post_check : {false, true})
      record(std::string(score_name(s)), post_check, calibrate_threshold(rule, o, post_check));
  }
  r.learned = fit_learned_rule(a.logits, answers(b), labels, classes);
  const pair_outcomes o = pair_outcomes::of(r.learned, a.logits, b.logits, labels, classes);
  for (bool post_check : {false, true})
    record("learned", post_check, calibrate_threshold(r.learned, o, post_check));
  return r;
}

const rule_choice& best_rule(const pair_result& p, double macs_budget) {
  const rule_choice* best = nullptr;
  for (const rule_choice& c : p.rules) {
    if (c.expected_macs > macs_budget) continue;
    if (best == nullptr || c.accuracy > best->accuracy ||
        (c.accuracy == best->accuracy && c.expected_macs < best->expected_macs)) {
      best = &c;
    }
  }
  if (best == nullptr) return p.rules.front();
  return *best;
}

/// The evidence behind the perceptual memories' settings, on the validation split: how far a
/// perturbed copy's hash and thumbnail land from its original's, and how near distinct images are,
/// for the frame's keys and the centred ones.
void perceptual_evidence(const image_set& val) {
  const std::size_t n = val.size();
  // Per image: the classic dHash, the frame's and the centred key (dead zone 4).
  std::vector<std::uint64_t> classic(n);
  std::vector<perceptual_key> frame(n), centred(n);
  for (std::size_t i = 0; i < n; ++i) {
    const image_view v{val.image(i), image_side, image_side};
    classic[i] = dhash(v);
    frame[i] = make_perceptual_key(v, perceptual_hash_options);
    centred[i] = make_centred_key(v, perceptual_hash_options);
  }
  // Distinct images sharing a classic dHash: what the paper's dictionary answers wrongly from.
  std::map<std::uint64_t, std::vector<int>> by_hash;
  for (std::size_t i = 0; i < n; ++i) by_hash[classic[i]].push_back(val.labels[i]);
  std::size_t shared = 0, shared_other_class = 0;
  for (const auto& [hash, labels] : by_hash) {
    if (labels.size() < 2) continue;
    shared += labels.size() - 1;
    for (std::size_t k = 1; k < labels.size(); ++k) shared_other_class += labels[k] != labels[0];
  }
  std::printf("\nperceptual keys on the validation split (%zu images)\n", n);
  std::printf(
      "  distinct images whose classic dHash equals an earlier one's: %.2f%% (%.2f%% of another "
      "class)\n",
      100.0 * static_cast<double>(shared) / static_cast<double>(n),
      100.0 * static_cast<double>(shared_other_class) / static_cast<double>(n));
  auto percentile = [](std::vector<float> v, double q) {
    std::sort(v.begin(), v.end());
    return static_cast<double>(v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))]);
  };
  for (perturbation kind : {perturbation::noise, perturbation::shift}) {
    const image_set copies = duplicates(val, kind);  // round 0, as the test's
    const std::vector<std::uint32_t> sources = duplicate_sources(n);
    // Hash distances of copies to their originals (classic, frame, centred), and thumbnail
    // distances to the original and to the nearest other image (frame, centred).
    std::array<std::array<std::size_t, 65>, 3> within{};
    std::array<std::vector<float>, 2> own, nearest_other;
    for (std::size_t j = 0; j < n; ++j) {
      const image_view v{copies.image(j), image_side, image_side};
      const std::size_t s = sources[j];
      const perceptual_key keys[] = {make_perceptual_key(v, perceptual_hash_options),
                                     make_centred_key(v, perceptual_hash_options)};
      const std::vector<perceptual_key>* originals[] = {&frame, &centred};
      ++within[0][static_cast<std::size_t>(hamming_distance(dhash(v), classic[s]))];
      for (std::size_t k = 0; k < 2; ++k) {
        const std::vector<perceptual_key>& keys_of = *originals[k];
        ++within[k + 1][static_cast<std::size_t>(hamming_distance(keys[k].hash, keys_of[s].hash))];
        own[k].push_back(thumbnail_distance(keys[k].view, keys_of[s].view));
        float nearest = 1e9f;
        for (std::size_t i = 0; i < n; ++i) {
          if (i != s)
            nearest = std::min(nearest, thumbnail_distance(keys[k].view, keys_of[i].view));
        }
        nearest_other[k].push_back(nearest);
      }
    }
    auto cumulative = [&](const std::array<std::size_t, 65>& counts, int radius) {
      std::size_t c = 0;
      for (int d = 0; d <= radius; ++d) c += counts[static_cast<std::size_t>(d)];
      return 100.0 * static_cast<double>(c) / static_cast<double>(n);
    };
    std::printf(
        "  %s copies: hash of the copy within r bits of its original's (classic dHash / dead zone "
        "%.0f / centred, dead zone %.0f)\n    ",
        std::string(perturbation_name(kind)).c_str(),
        static_cast<double>(perceptual_hash_options.dead_zone),
        static_cast<double>(perceptual_hash_options.dead_zone));
    for (int r : {0, 2, 4, 6, 8}) {
      std::printf(" r=%d %.1f%%/%.1f%%/%.1f%%", r, cumulative(within[0], r),
                  cumulative(within[1], r), cumulative(within[2], r));
    }
    std::printf("\n");
    const char* names[] = {"frame", "centred"};
    for (std::size_t k = 0; k < 2; ++k) {
      std::printf(
          "    %s thumbnail distance to its original: median %.2f, 99th percentile %.2f; to the "
          "nearest other image: 1st percentile %.2f, median %.2f (grey levels)\n",
          names[k], percentile(own[k], 0.5), percentile(own[k], 0.99),
          percentile(nearest_other[k], 0.01), percentile(nearest_other[k], 0.5));
    }
  }
}

/// Writes what the calibration chose to `dir` (selection.txt, learned_rule.txt), as
/// `read_selection` reads it.
void write_selection(const fs::path& dir, const std::string& large, const pair_result& pair,
                     const std::string& small, const rule_choice& selected, double budget) {
  fs::create_directories(dir);
  std::ofstream sel(dir / "selection.txt");
  sel << "large " << large << "\nfirst " << pair.first << "\nsecond " << pair.second << "\nsmall "
      << small << "\nrule " << selected.rule << " " << selected.post_check << "\nbudget_macs "
      << budget << "\n";
  for (const rule_choice& c : pair.rules) {
    sel << "threshold " << c.rule << " " << c.post_check << " " << c.threshold << " " << c.accuracy
        << "\n";
  }
  std::ofstream(dir / "learned_rule.txt") << pair.learned.to_string();
}

const rule_choice& find_rule(const pair_result& pair, const std::string& rule, bool post_check) {
  for (const rule_choice& c : pair.rules) {
    if (c.rule == rule && c.post_check == post_check) return c;
  }
  throw error("no rule " + rule + " calibrated for " + pair.first + " -> " + pair.second);
}

/// The selected pair in int8, into `dir` (calibration/int8/): each model calibrated on training
/// images outside the validation split; the selected rule and post-check kept, its lambda* (and
/// the learned rule's fit) calibrated anew on the int8 models' validation logits. `fp32` is the
/// pair's calibration in fp32, `fp32_val` the fp32 models' validation outputs.
void calibrate_int8_pair(const options& o, const image_sets& sets, const selection& s,
                         const pair_result& fp32,
                         const std::map<std::string, model_outputs>& fp32_val,
                         const fs::path& dir) {
  const std::vector<int>& labels = sets.val.labels;
  std::printf(
      "\nthe pair in int8 (each model calibrated on %zu training images outside the validation "
      "split), validation split:\n",
      sets.int8_calibration.size());
  std::map<std::string, model_outputs> val;
  for (const std::string& name : {s.first, s.second}) {
    const model_outputs& fp = fp32_val.at(name);
    const model_outputs& q = val[name] = outputs_of(o, sets, name, "val", precision::int8);
    std::size_t same = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) same += q.answer(i) == fp.answer(i);
    std::printf("  %-26s val_acc fp32 %.4f int8 %.4f; int8 answers as fp32 on %.2f%% of images\n",
                name.c_str(), accuracy(fp, labels), accuracy(q, labels),
                100.0 * static_cast<double>(same) / static_cast<double>(labels.size()));
  }
  const pair_result int8 = calibrate_pair(s.first, s.second, val[s.first], val[s.second], labels);
  const rule_choice& c = find_rule(int8, s.rule, s.post_check);
  const rule_choice& f = find_rule(fp32, s.rule, s.post_check);
  std::printf(
      "  rule %s%s, calibrated on the int8 logits: lambda=%.4f val_acc=%.4f second_rate=%.3f "
      "(fp32: lambda=%.4f val_acc=%.4f second_rate=%.3f)\n",
      s.rule.c_str(), s.post_check ? " with post-check" : "", static_cast<double>(c.threshold),
      c.accuracy, c.second_rate, static_cast<double>(f.threshold), f.accuracy, f.second_rate);
  write_selection(dir, s.large, int8, s.small, c, std::numeric_limits<double>::infinity());
}

int calibrate(const options& o) {
  const image_sets sets(o);
  const std::vector<int>& labels = sets.val.labels;
  const fs::path dir = o.work / "calibration";
  fs::create_directories(dir);
  std::printf("calibration on the validation split: %zu images (every 12th training image)\n\n",
              labels.size());

  // The small models whose weights are there (a pool still in training is calibrated as it is):
  // fewer MACs than the large model (which may be a second model too).
  const pool_member& large = find_member(o.large);
  if (!fs::exists(weights_file(o, large.name)))
    throw error("no weights for the large model at " + weights_file(o, large.name).string());
  std::vector<pool_member> members;
  for (const pool_member& m : pool()) {
    if (m.macs >= large.macs) continue;
    if (fs::exists(weights_file(o, m.name))) {
      members.push_back(m);
    } else {
      std::printf("(no weights for %s: left out)\n", std::string(m.name).c_str());
    }
  }
  if (members.size() < 2)
    throw error("the pool needs two small models (fewer MACs than " + o.large +
                ") with weights in " + o.weights.string());
  std::printf("large model %s (%zu MACs); small models:", o.large.c_str(), large.macs);
  for (const pool_member& m : members) std::printf(" %s", std::string(m.name).c_str());
  std::printf("\n\n");
  // Second models: every small model and the large one.
  std::vector<pool_member> seconds = members;
  seconds.push_back(large);
  std::map<std::string, model_outputs> val;
  std::printf("%-26s %12s %10s %10s\n", "model", "MACs", "params", "val_acc");
  for (const pool_member& m : seconds) {
    val[std::string(m.name)] = outputs_of(o, sets, std::string(m.name), "val");
    std::printf("%-26s %12zu %10zu %10.4f\n", std::string(m.name).c_str(), m.macs, m.params,
                accuracy(val[std::string(m.name)], labels));
  }

  // Complementarity of every pair, both formulas.
  std::ofstream csv(dir / "complementarity.csv");
  csv << "a,b,paper,code,accuracy_a,accuracy_b\n";
  std::printf("\ncomplementarity (paper's formula / its code's, validation split)\n");
  for (std::size_t i = 0; i < members.size(); ++i) {
    for (std::size_t j = i + 1; j < seconds.size(); ++j) {
      const pool_member &a = members[i], &b = seconds[j];
      const complementarity_scores c = complementarity(labels, answers(val[std::string(a.name)]),
                                                       answers(val[std::string(b.name)]));
      csv << a.name << "," << b.name << "," << c.paper << "," << c.code << ","
          << accuracy(val[std::string(a.name)], labels) << ","
          << accuracy(val[std::string(b.name)], labels) << "\n";
      std::printf("  %-26s %-26s %.4f / %.4f\n", std::string(a.name).c_str(),
                  std::string(b.name).c_str(), c.paper, c.code);
    }
  }

  // Every ordered pair (a small model first, any other second), every rule.
  const double large_macs = static_cast<double>(large.macs);
  double budget = o.budget * large_macs;
  std::vector<pair_result> pairs;
  std::ofstream pairs_csv(dir / "pairs.csv");
  pairs_csv << "first,second,rule,post_check,threshold,val_accuracy,val_second_rate,expected_macs,"
               "paper_complementarity\n";
  for (const pool_member& a : members) {
    for (const pool_member& b : seconds) {
      if (a.name == b.name) continue;
      pairs.push_back(calibrate_pair(std::string(a.name), std::string(b.name),
                                     val[std::string(a.name)], val[std::string(b.name)], labels));
      const double paper = complementarity(labels, answers(val[std::string(a.name)]),
                                           answers(val[std::string(b.name)]))
                               .paper;
      for (const rule_choice& c : pairs.back().rules) {
        pairs_csv << a.name << "," << b.name << "," << c.rule << "," << c.post_check << ","
                  << c.threshold << "," << c.accuracy << "," << c.second_rate << ","
                  << c.expected_macs << "," << paper << "\n";
      }
    }
  }

  // The pair: best validation accuracy among pairs and rules whose expected MACs fit the budget
  // (ties: fewer MACs). The small model: the best single small model on validation. A pool whose
  // small models are all close to the large one in MACs (a stand-in large model) has no pair in
  // the budget: the best pair is then taken whatever its cost, and said so.
  const bool any_fits = std::any_of(pairs.begin(), pairs.end(), [&](const pair_result& p) {
    return best_rule(p, budget).expected_macs <= budget;
  });
  if (!any_fits) {
    std::printf(
        "\nnote: no pair and rule fits %.0f%% of the large model's MACs; the pair is chosen "
        "without the budget\n",
        100 * o.budget);
    budget = std::numeric_limits<double>::infinity();
  }
  const pair_result* chosen = nullptr;
  for (const pair_result& p : pairs) {
    const rule_choice& c = best_rule(p, budget);
    if (c.expected_macs > budget) continue;
    if (chosen == nullptr) {
      chosen = &p;
      continue;
    }
    const rule_choice& b = best_rule(*chosen, budget);
    if (c.accuracy > b.accuracy || (c.accuracy == b.accuracy && c.expected_macs < b.expected_macs))
      chosen = &p;
  }
  if (chosen == nullptr)
    throw error("no pair fits a budget of " + std::to_string(o.budget) +
                " of the large model's MACs");
  std::string small;
  double small_accuracy = -1;
  for (const pool_member& m : members) {
    const double acc = accuracy(val[std::string(m.name)], labels);
    if (acc > small_accuracy) small = m.name, small_accuracy = acc;
  }

  if (any_fits) {
    std::printf(
        "\npairs by validation accuracy (best rule within %.0f%% of the large model's MACs)\n",
        100 * o.budget);
  } else {
    std::printf("\npairs by validation accuracy (best rule, whatever its MACs)\n");
  }
  std::vector<const pair_result*> ranked;
  for (const pair_result& p : pairs) {
    if (best_rule(p, budget).expected_macs <= budget) ranked.push_back(&p);
  }
  std::sort(ranked.begin(), ranked.end(), [&](const pair_result* x, const pair_result* y) {
    const rule_choice &a = best_rule(*x, budget), &b = best_rule(*y, budget);
    return a.accuracy != b.accuracy ? a.accuracy > b.accuracy : a.expected_macs < b.expected_macs;
  });
  for (std::size_t i = 0; i < std::min<std::size_t>(8, ranked.size()); ++i) {
    const rule_choice& c = best_rule(*ranked[i], budget);
    std::printf("  %-26s -> %-26s %-8s %s lambda=%.4f val_acc=%.4f second_rate=%.3f MACs=%.1fM\n",
                ranked[i]->first.c_str(), ranked[i]->second.c_str(), c.rule.c_str(),
                c.post_check ? "pc  " : "nopc", c.threshold, c.accuracy, c.second_rate,
                c.expected_macs / 1e6);
  }

  std::printf(
      "\nlambda* of the chosen pair %s -> %s, per rule (validation split, 2000-point grid)\n",
      chosen->first.c_str(), chosen->second.c_str());
  for (const rule_choice& c : chosen->rules) {
    std::printf("  %-8s post_check=%d lambda=%.4f val_acc=%.4f second_rate=%.3f\n", c.rule.c_str(),
                c.post_check, c.threshold, c.accuracy, c.second_rate);
  }
  const rule_choice& selected = best_rule(*chosen, budget);
  write_selection(dir, o.large, *chosen, small, selected, budget);
  std::printf("\nselected: %s then %s, rule %s%s; best single small model: %s\n",
              chosen->first.c_str(), chosen->second.c_str(), selected.rule.c_str(),
              selected.post_check ? " with post-check" : "", small.c_str());
  perceptual_evidence(sets.val);

  // The centred memory's confirmation, behind the selected cascade on the validation streams.
  const selection chosen_selection = read_selection(dir);
  std::map<std::string, model_outputs> copies;  // by model and image set
  auto replay_on = [&](const std::string& model, std::size_t round) {
    std::vector<const model_outputs*> sets_of_round = {&val.at(model)};
    for (perturbation kind : {perturbation::noise, perturbation::shift}) {
      const std::string set = copies_name("val", kind, round);
      copies.try_emplace(model + " " + set, outputs_of(o, sets, model, set));
      sets_of_round.push_back(&copies.at(model + " " + set));
    }
    return replay_model(sets_of_round);
  };
  std::vector<validation_round> rounds;
  for (std::size_t round = 0; round < validation_rounds; ++round) {
    std::vector<dataset> streams =
        make_datasets("val", sets.val, sets.val_noise[round], sets.val_shift[round]);
    rounds.push_back({replay_on(chosen_selection.first, round),
                      replay_on(chosen_selection.second, round), std::move(streams[2]),
                      std::move(streams[3])});
  }
  const memory_tuning tuned = tune_memory(rounds, chosen_selection);
  std::ofstream(dir / "selection.txt", std::ios::app)
      << "memory " << tuned.max_thumbnail_distance << " " << tuned.min_probability << "\n";

  calibrate_int8_pair(o, sets, chosen_selection, *chosen, val, dir / "int8");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Phase 3: the configurations, streamed

struct result {
  std::string dataset, config;
  std::size_t images = 0;
  double accuracy = 0, macs_per_image = 0, ms_per_image = 0, second_rate = 0, hit_rate = 0,
         saving = 0;
  double overhead_us = 0;
  double weight_bytes_per_image = 0;  // packed weights read, every model run counted
  std::string_view backend = experiment_backend_name;
  cache_stats cache{};
  // Memories only: hits answering otherwise than the models would, the memory's own time per
  // image (keys, lookups, insertions), and the first model's for comparison.
  std::uint64_t wrong_hits = 0;
  double wrong_hit_rate = 0, memory_us = 0, first_model_us = 0;
  double copies_answered_otherwise = 0;  // by the models, duplicated streams only
};

template <class Model>
struct stream_models {
  Model* large;
  Model* small;
  Model* first;
  Model* second;
  // What one inference of each costs (large, small, first, second): MACs, bytes of packed weights.
  std::array<std::size_t, 4> macs, weight_bytes;
};

/// Streams `items` one at a time through `classify(item, index)`; returns accuracy and time, the
/// models' time included.
template <class Model, class Classify>
result stream(const std::vector<item>& items, const stream_models<Model>& m, Classify&& classify) {
  for (Model* model : {m.large, m.small, m.first, m.second}) model->runs = 0, model->ms = 0;
  std::size_t right = 0;
  const double start = cpu_ms();
  for (std::size_t i = 0; i < items.size(); ++i) {
    place({m.large, m.small, m.first, m.second}, items[i], i);
    right += classify(items[i], i).label == items[i].label;
  }
  const double loop_ms = cpu_ms() - start;
  result r;
  const double n = static_cast<double>(items.size());
  r.images = items.size();
  r.accuracy = static_cast<double>(right) / n;
  double model_ms = 0, macs = 0, weight_bytes = 0;
  std::size_t k = 0;
  for (Model* model : {m.large, m.small, m.first, m.second}) {
    model_ms += model->ms;
    macs += static_cast<double>(model->runs) * static_cast<double>(m.macs[k]);
    weight_bytes += static_cast<double>(model->runs) * static_cast<double>(m.weight_bytes[k]);
    ++k;
  }
  r.ms_per_image = (loop_ms + model_ms) / n;
  r.overhead_us = 1e3 * (loop_ms / n);
  r.macs_per_image = macs / n;
  r.weight_bytes_per_image = weight_bytes / n;
  r.second_rate = static_cast<double>(m.second->runs) / n;
  return r;
}

/// A memory's own time per image over a stream, in microseconds of thread CPU time, the median of
/// five passes: each runs a fresh memory of `setup` in front of the answers the stream gave, so
/// that only keys, lookups and insertions count. Every pass must hit as the stream did.
double memory_us_per_image(const memory_setup& setup, const std::vector<item>& items,
                           const memory_outcome& stream_outcome) {
  recorded_answers recorded(stream_outcome.answers);
  std::vector<double> us;
  for (int pass = 0; pass < 5; ++pass) {
    with_memory(setup, recorded, [&](auto& memory) {
      std::uint64_t hits = 0;
      const double start = cpu_ms();
      for (std::size_t i = 0; i < items.size(); ++i) {
        recorded.at(i);
        memory.classify(items[i].raw);
        hits += memory.last_hit();
      }
      us.push_back(1e3 * (cpu_ms() - start) / static_cast<double>(items.size()));
      if (hits != stream_outcome.hits) {
        throw error(setup.config + ": the timing pass hit " + std::to_string(hits) +
                    " times, the stream " + std::to_string(stream_outcome.hits));
      }
    });
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

template <class Model>
std::vector<result> run_configs(const dataset& d, const stream_models<Model>& m,
                                const selection& s) {
  std::vector<result> results;
  const std::span<const float> none;
  auto add = [&](std::string config, result r) {
    r.dataset = d.name;
    r.config = std::move(config);
    results.push_back(r);
  };
  add("large", stream(d.items, m, [&](const item&, std::size_t) {
        return predict_from_logits(m.large->infer(none));
      }));
  add("small", stream(d.items, m, [&](const item&, std::size_t) {
        return predict_from_logits(m.small->infer(none));
      }));

  // The pair, one configuration per rule, each with the post-check setting better on validation.
  auto better_post_check = [&](const std::string& rule) {
    const auto& acc = s.val_accuracy.at(rule);
    return acc.at(true) > acc.at(false);
  };
  auto config_name = [&](const std::string& rule, bool post_check) {
    return "dual_" + rule + (post_check ? "_pc" : "");
  };
  for (score kind : all_scores) {
    const std::string rule(score_name(kind));
    const bool post_check = better_post_check(rule);
    cascade dual(*m.first, *m.second, threshold_rule{kind, s.thresholds.at(rule).at(post_check)},
                 {.post_check = post_check});
    add(config_name(rule, post_check),
        stream(d.items, m, [&](const item&, std::size_t) { return dual.classify(none); }));
  }
  const bool learned_post_check = better_post_check("learned");
  const learned_rule learned =
      s.learned.with_threshold(s.thresholds.at("learned").at(learned_post_check));
  {
    cascade dual(*m.first, *m.second, learned, {.post_check = learned_post_check});
    add(config_name("learned", learned_post_check),
        stream(d.items, m, [&](const item&, std::size_t) { return dual.classify(none); }));
  }

  // The selected rule behind each memory, against the same cascade without one.
  const double first_model_us = 1e3 * stream(d.items, m, [&](const item&, std::size_t) {
                                        return predict_from_logits(m.first->infer(none));
                                      }).ms_per_image;
  with_selected_rule(s, [&](const auto& rule) {
    cascade dual(*m.first, *m.second, rule, {.post_check = s.post_check});
    const std::vector<prediction> models =
        answers_of(d.items, {m.first, m.second},
                   [&](const item&, std::size_t) { return dual.classify(none); });
    for (const memory_setup& setup : memories(*s.memory)) {
      result r;
      const memory_outcome outcome = run_memory(
          setup, dual, models, [&](auto&& classify) { r = stream(d.items, m, classify); });
      const double n = static_cast<double>(d.items.size());
      r.cache = outcome.cache;
      r.hit_rate = static_cast<double>(outcome.hits) / n;
      r.wrong_hits = outcome.wrong_hits;
      r.wrong_hit_rate = static_cast<double>(outcome.wrong_hits) / n;
      r.memory_us = memory_us_per_image(setup, d.items, outcome);
      r.first_model_us = first_model_us;
      r.copies_answered_otherwise = copies_answered_otherwise(d, models);
      add(setup.config, r);
    }
  });

  const double large_ms = results.front().ms_per_image;
  for (result& r : results) r.saving = 1.0 - r.ms_per_image / large_ms;
  return results;
}

void print(const result& r) {
  std::printf(
      "cascade %s %s accuracy=%.4f macs_per_image=%.0f ms_per_image=%.3f second_rate=%.4f "
      "hit_rate=%.4f saving_vs_large=%.4f wrong_hit_rate=%.4f memory_us_per_image=%.2f\n",
      r.dataset.c_str(), r.config.c_str(), r.accuracy, r.macs_per_image, r.ms_per_image,
      r.second_rate, r.hit_rate, r.saving, r.wrong_hit_rate, r.memory_us);
}

/// The pair with the selected rule of `s` over a dataset, its models those of `m`: the fp32
/// selection with fp32 models, the int8 one (calibration/int8/) with int8 models. Its saving is
/// against `large_ms`, the large model's time per image in fp32.
template <class Model>
result run_pair(const dataset& d, const stream_models<Model>& m, const selection& s,
                std::string config, double large_ms) {
  const std::span<const float> none;
  result r;
  with_selected_rule(s, [&](const auto& rule) {
    cascade dual(*m.first, *m.second, rule, {.post_check = s.post_check});
    r = stream(d.items, m, [&](const item&, std::size_t) { return dual.classify(none); });
  });
  r.dataset = d.name;
  r.config = std::move(config);
  r.saving = 1.0 - r.ms_per_image / large_ms;
  return r;
}

/// The configuration names of the pair with the selected rule, in fp32 and in int8.
std::string pair_config(const selection& s) {
  return "dual_" + s.rule + (s.post_check ? "_pc" : "");
}
std::string int8_pair_config(const selection& s) {
  return pair_config(s) + "_int8";
}

/// A model's time per image in fp32 and in int8, measured in turn (`paired_times`).
struct paired_time {
  double fp32 = 0, int8 = 0;
};

/// Per model of `names`, its time per image in fp32 and in int8 measured in turn over the same
/// images (thread CPU; the median of `rounds` passes each), so that both see the machine alike.
std::map<std::string, paired_time> paired_times(const options& o, const image_sets& sets,
                                                const std::vector<std::string>& names,
                                                std::size_t images, int rounds) {
  const std::vector<float> inputs = inputs_of(first(sets.test, images));
  const std::size_t count = inputs.size() / input_floats;
  std::printf(
      "\nfp32 and int8 in turn: thread CPU ms per image, median of %d passes each over the first "
      "%zu test images\n",
      rounds, count);
  std::map<std::string, paired_time> times;
  for (const std::string& n : names) {
    std::array<any_model, 2> m = {load_model(o, sets, n, precision::fp32),
                                  load_model(o, sets, n, precision::int8)};
    std::array<std::vector<double>, 2> ms;
    for (int round = 0; round < rounds; ++round) {
      for (std::size_t k = 0; k < 2; ++k) {
        for (int i = 0; i < 25; ++i) m[k].infer(std::span(inputs).first(input_floats));
        const double start = cpu_ms();
        for (std::size_t i = 0; i < count; ++i)
          m[k].infer(std::span(inputs).subspan(i * input_floats, input_floats));
        ms[k].push_back((cpu_ms() - start) / static_cast<double>(count));
      }
    }
    for (std::vector<double>& v : ms) std::sort(v.begin(), v.end());
    const paired_time t{ms[0][ms[0].size() / 2], ms[1][ms[1].size() / 2]};
    std::printf("  %-26s fp32 %.3f int8 %.3f int8/fp32 %.2f\n", n.c_str(), t.fp32, t.int8,
                t.int8 / t.fp32);
    times[n] = t;
  }
  return times;
}

/// The pair in int8 against the same pair, rule and post-check in fp32, over one dataset. The
/// streams' times replay passes measured at other times, under other loads on a shared machine:
/// close enough against the large model, not for the few percent between fp32 and int8. So the
/// pair's time per image here is the stream's own work plus its models' runs at the times
/// measured in turn.
struct int8_comparison {
  result int8, fp32;   // streamed
  double ms, fp32_ms;  // the pair's time per image, its models timed in turn

  int8_comparison(result int8_pair, result fp32_pair, paired_time first, paired_time second)
      : int8(std::move(int8_pair)),
        fp32(std::move(fp32_pair)),
        ms(pair_ms(int8, first.int8, second.int8)),
        fp32_ms(pair_ms(fp32, first.fp32, second.fp32)) {}

  double time_saving() const { return 1.0 - ms / fp32_ms; }
  double weight_bytes_saving() const {
    return 1.0 - int8.weight_bytes_per_image / fp32.weight_bytes_per_image;
  }

 private:
  // The first model runs on every image, the second on second_rate of them.
  static double pair_ms(const result& r, double first_ms, double second_ms) {
    return 1e-3 * r.overhead_us + first_ms + r.second_rate * second_ms;
  }
};

void print(const int8_comparison& c) {
  std::printf(
      "int8 %s %s accuracy=%.4f fp32_accuracy=%.4f ms_per_image=%.3f fp32_ms_per_image=%.3f "
      "saving_vs_fp32=%.4f weight_bytes_per_image=%.0f fp32_weight_bytes_per_image=%.0f "
      "weight_bytes_saving=%.4f\n",
      c.int8.dataset.c_str(), c.int8.config.c_str(), c.int8.accuracy, c.fp32.accuracy, c.ms,
      c.fp32_ms, c.time_saving(), c.int8.weight_bytes_per_image, c.fp32.weight_bytes_per_image,
      c.weight_bytes_saving());
}

int run(const options& o) {
  const image_sets sets(o);
  const selection s = read_selection(o.work / "calibration");
  if (s.large != o.large || !s.memory)
    throw error("the calibration was made against " + s.large +
                (s.memory ? "" : " without memory tuning") + ": run the calibrate step again");
  const fs::path int8_dir = o.work / "calibration" / "int8";
  if (!fs::exists(int8_dir / "selection.txt"))
    throw error("the calibration has no int8 pair: run the calibrate step again");
  const selection s8 = read_selection(int8_dir);
  if (s8.first != s.first || s8.second != s.second || s8.rule != s.rule ||
      s8.post_check != s.post_check)
    throw error("the int8 calibration is of another pair or rule: run the calibrate step again");
  std::printf("pair %s -> %s, memory rule %s%s, small model %s; backend %s; %zu test images\n",
              s.first.c_str(), s.second.c_str(), s.rule.c_str(),
              s.post_check ? " with post-check" : "", s.small.c_str(),
              std::string(experiment_backend_name).c_str(), sets.test.size());
  const std::vector<std::string> names = {o.large, s.small, s.first, s.second};
  const std::vector<std::string> test_sets = {"test", copies_name("test", perturbation::noise),
                                              copies_name("test", perturbation::shift)};
  std::map<std::string, std::vector<model_outputs>> outputs, outputs8;
  for (const std::string& n : names) {
    if (outputs.contains(n)) continue;
    for (const std::string& set : test_sets) outputs[n].push_back(outputs_of(o, sets, n, set));
  }
  for (const std::string& n : {s.first, s.second}) {
    if (outputs8.contains(n)) continue;
    for (const std::string& set : test_sets)
      outputs8[n].push_back(outputs_of(o, sets, n, set, precision::int8));
  }
  auto replay = [](std::vector<model_outputs>& sets_of_model) {
    return replay_model({&sets_of_model[0], &sets_of_model[1], &sets_of_model[2]});
  };
  replay_model large = replay(outputs[names[0]]), small = replay(outputs[names[1]]),
               first = replay(outputs[names[2]]), second = replay(outputs[names[3]]);
  replay_model first8 = replay(outputs8[s.first]), second8 = replay(outputs8[s.second]);
  std::array<const pool_member*, 4> members{};
  for (std::size_t k = 0; k < 4; ++k) members[k] = &find_member(names[k]);
  const std::array<std::size_t, 4> macs = {members[0]->macs, members[1]->macs, members[2]->macs,
                                           members[3]->macs};
  const stream_models<replay_model> models{&large,
                                           &small,
                                           &first,
                                           &second,
                                           macs,
                                           {members[0]->weight_bytes, members[1]->weight_bytes,
                                            members[2]->weight_bytes, members[3]->weight_bytes}};
  // The pair in int8 beside the fp32 large and small models (which the pair does not run).
  const stream_models<replay_model> models8{
      &large,
      &small,
      &first8,
      &second8,
      macs,
      {members[0]->weight_bytes, members[1]->weight_bytes, members[2]->int8_weight_bytes,
       members[3]->int8_weight_bytes}};

  std::printf("\nper-image model time (thread CPU ms, mean over the test set; wall in brackets)\n");
  auto print_time = [](const std::string& label, const model_outputs& out) {
    std::printf("  %-26s %8.3f (%8.3f)  %s\n", label.c_str(), mean(out.cpu_ms), mean(out.wall_ms),
                out.joules >= 0 ? ("joules/image " +
                                   std::to_string(out.joules / static_cast<double>(out.size())))
                                      .c_str()
                                : "");
  };
  for (const std::string& n : {names[0], names[1], names[2], names[3]})
    print_time(n, outputs[n][0]);
  for (const std::string& n : {s.first, s.second}) print_time(n + " (int8)", outputs8[n][0]);
  if (energy_joules()) {
    std::printf(
        "energy: RAPL package counter found; joules per image above are whole-package figures\n");
  } else {
    std::printf(
        "energy: no energy counter on this machine (no /sys/class/powercap RAPL): "
        "time and MACs stand in for energy\n");
  }
  const std::map<std::string, paired_time> times =
      paired_times(o, sets, {s.first, s.second}, 500, 5);

  const std::vector<dataset> data =
      make_datasets("test", sets.test, sets.test_noise, sets.test_shift);
  std::vector<result> results;
  std::vector<int8_comparison> comparisons;
  for (const dataset& d : data) {
    if (d.name == "test_shifted_dup" && sets.test_shift.size() == 0) continue;
    const std::vector<result> fp32 = run_configs(d, models, s);
    results.insert(results.end(), fp32.begin(), fp32.end());
    const double large_ms = fp32.front().ms_per_image;
    int8_comparison c(run_pair(d, models8, s8, int8_pair_config(s), large_ms),
                      run_pair(d, models, s, pair_config(s), large_ms), times.at(s.first),
                      times.at(s.second));
    c.int8.backend = experiment_int8_backend_name;
    results.push_back(c.int8);
    comparisons.push_back(c);
  }

  if (o.live != 0) {
    // The first `live` images of every dataset, end to end with the real models, beside the
    // replayed figures for the same images.
    std::map<std::string, std::unique_ptr<any_model>> real, real8;
    for (const std::string& n : names) {
      if (real.contains(n)) continue;
      real[n] = std::make_unique<any_model>(load_model(o, sets, n, precision::fp32));
    }
    for (const std::string& n : {s.first, s.second}) {
      if (real8.contains(n)) continue;
      real8[n] = std::make_unique<any_model>(load_model(o, sets, n, precision::int8));
    }
    std::printf("\nlive check: %zu images per dataset, real models vs replayed measurements\n",
                o.live);
    for (const dataset& full : data) {
      const dataset d = shorten(full, o.live);
      std::vector<float> inputs(d.items.size() * input_floats);
      for (std::size_t i = 0; i < d.items.size(); ++i) {
        preprocess(d.items[i].raw,
                   std::span<float>(inputs).subspan(i * input_floats, input_floats));
      }
      live_model l(*real[names[0]], inputs), sm(*real[names[1]], inputs),
          f(*real[names[2]], inputs), se(*real[names[3]], inputs), f8(*real8[s.first], inputs),
          se8(*real8[s.second], inputs);
      const stream_models<live_model> live_models{&l,  &sm,         &f,
                                                  &se, models.macs, models.weight_bytes};
      const stream_models<live_model> live_models8{&l,   &sm,          &f8,
                                                   &se8, models8.macs, models8.weight_bytes};
      std::vector<result> live = run_configs(d, live_models, s);
      std::vector<result> replayed = run_configs(d, models, s);
      live.push_back(run_pair(d, live_models8, s8, int8_pair_config(s), live.front().ms_per_image));
      replayed.push_back(
          run_pair(d, models8, s8, int8_pair_config(s), replayed.front().ms_per_image));
      for (std::size_t i = 0; i < live.size(); ++i) {
        std::printf(
            "live %s %s images=%zu accuracy=%.4f/%.4f ms_per_image=%.3f/%.3f (live/replayed)\n",
            d.name.c_str(), live[i].config.c_str(), live[i].images, live[i].accuracy,
            replayed[i].accuracy, live[i].ms_per_image, replayed[i].ms_per_image);
      }
    }
  }

  std::ofstream csv(o.work / "results.csv");
  csv << "dataset,config,images,accuracy,macs_per_image,ms_per_image,second_rate,hit_rate,saving_"
         "vs_large,overhead_us_per_image,near_hits,collisions,evictions,wrong_hits,wrong_hit_rate,"
         "memory_us_per_image,first_model_us_per_image,weight_bytes_per_image,backend\n";
  for (const result& r : results) {
    csv << r.dataset << "," << r.config << "," << r.images << "," << r.accuracy << ","
        << r.macs_per_image << "," << r.ms_per_image << "," << r.second_rate << "," << r.hit_rate
        << "," << r.saving << "," << r.overhead_us << "," << r.cache.near_hits << ","
        << r.cache.collisions << "," << r.cache.evictions << "," << r.wrong_hits << ","
        << r.wrong_hit_rate << "," << r.memory_us << "," << r.first_model_us << ","
        << r.weight_bytes_per_image << "," << r.backend << "\n";
  }
  std::ofstream int8_csv(o.work / "int8.csv");
  int8_csv << "dataset,config,accuracy,fp32_accuracy,second_rate,fp32_second_rate,ms_per_image,"
              "fp32_ms_per_image,saving_vs_fp32,weight_bytes_per_image,fp32_weight_bytes_per_image,"
              "weight_bytes_saving\n";
  for (const int8_comparison& c : comparisons) {
    int8_csv << c.int8.dataset << "," << c.int8.config << "," << c.int8.accuracy << ","
             << c.fp32.accuracy << "," << c.int8.second_rate << "," << c.fp32.second_rate << ","
             << c.ms << "," << c.fp32_ms << "," << c.time_saving() << ","
             << c.int8.weight_bytes_per_image << "," << c.fp32.weight_bytes_per_image << ","
             << c.weight_bytes_saving() << "\n";
  }
  std::printf(
      "\nmemories: hits, wrong hits (a hit answering otherwise than the models would), own time "
      "per "
      "image (keys, lookups, insertions; thread CPU, median of 5 passes) beside the first "
      "model's\n");
  for (const result& r : results) {
    if (r.config.rfind("dual_memory_", 0) != 0) continue;
    if (r.config == "dual_memory_exact" && r.copies_answered_otherwise > 0) {
      std::printf(
          "  %s: without a memory, the cascade answers %.2f%% of the copies otherwise than "
          "their originals\n",
          r.dataset.c_str(), 100 * r.copies_answered_otherwise);
    }
    std::printf(
        "  %-17s %-23s hit_rate=%.4f wrong_hits=%-4llu wrong_hit_rate=%.4f "
        "memory_us_per_image=%.2f first_model_us_per_image=%.1f memory_vs_first=%.3f\n",
        r.dataset.c_str(), r.config.c_str(), r.hit_rate,
        static_cast<unsigned long long>(r.wrong_hits), r.wrong_hit_rate, r.memory_us,
        r.first_model_us, r.memory_us / r.first_model_us);
  }
  std::printf("\n");
  for (const result& r : results) print(r);
  for (const int8_comparison& c : comparisons) print(c);
  return 0;
}

int logits(const options& o) {
  const image_sets sets(o);
  std::vector<std::string> models = o.models;
  if (models.empty()) {
    for (const pool_member& m : pool()) {
      if (fs::exists(weights_file(o, m.name))) models.emplace_back(m.name);
    }
  }
  const std::vector<std::string> names = o.sets.empty() ? std::vector<std::string>{"val"} : o.sets;
  for (const std::string& m : models) {
    for (const std::string& set : names) {
      const precision p = o.int8 ? precision::int8 : precision::fp32;
      const model_outputs out = outputs_of(o, sets, m, set, p);
      std::printf(
          "%-26s %-11s images=%zu accuracy=%.4f cpu_ms_per_image=%.3f wall_ms_per_image=%.3f "
          "backend=%s\n",
          m.c_str(), set.c_str(), out.size(), accuracy(out, sets[set].labels), mean(out.cpu_ms),
          mean(out.wall_ms), std::string(backend_name(p)).c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const options o = parse(argc, argv);
    if (o.command == "logits") return logits(o);
    if (o.command == "calibrate") return calibrate(o);
    if (o.command == "run") return run(o);
    throw error("unknown command '" + o.command + "' (logits, calibrate, run)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
