// SPDX-License-Identifier: Apache-2.0
// The dual complementary CNNs with memory (Kinnas et al., 2024), reproduced on Fashion-MNIST with
// lmnet's cascade and result cache. Run by ./scripts/cascade-experiment; docs/cascade.md explains
// the method and the results.
//
//   lmnet_cascade_experiment logits    --work DIR [--models a,b] [--sets val,test,...] [--limit N]
//       runs pool models batch-1 over image sets, keeping logits and per-image times (.npy)
//   lmnet_cascade_experiment calibrate --work DIR [--budget 0.3]
//       on the validation split: complementarity of every pair, lambda* of every rule, the
//       learned rule, the pair and the small model the experiment uses, the centred memory's
//       confirmation (over several rounds of noisy and shifted copies of the split)
//   lmnet_cascade_experiment run       --work DIR [--limit N] [--live N]
//       every configuration on every test set, streamed batch-1; per memory its hits, wrong
//       hits and own time; ends with one line each:
//       cascade <dataset> <config> accuracy=.. macs_per_image=.. ms_per_image=.. second_rate=..
//               hit_rate=.. saving_vs_large=.. wrong_hit_rate=.. memory_us_per_image=..
// Common options: --weights DIR (<model>.safetensors, default examples/weights/fashion_mnist),
// --large NAME (default mobilenet_v2_cifar), --data DIR (the dataset's gzip IDX files).
//
// The pool is every model whose weights are in the weights directory; the small models are those
// with fewer MACs than the large one. A pair starts with a small model; its second model is any
// other pool model, the large one included. The tool writes logits/, calibration/ and results.csv
// under the work directory. Logits are computed once per model, set, weights and backend and
// reused.
//
// How time is measured. Every model's per-image time is measured when its logits are computed
// (thread CPU time, so that other processes on a shared machine do not count; wall time is kept
// too). A configuration then streams its dataset through the real lmnet::cascade and
// lmnet::cached objects, whose models replay those logits and add those measured times; the rest
// (hashing, cache lookups and insertions, softmax, scores, rules) is measured on the spot. A
// memory's own time (keys, lookups, insertions) is measured apart: its stream is run again in
// front of the answers it gave, five times, and the median kept. `--live N` also runs the first N
// images of every dataset with the real models end to end, and prints both figures side by side.
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
  std::size_t limit = 0;      // test images used (0: all)
  std::size_t val_limit = 0;  // validation images used (0: all)
  std::size_t live = 0;       // images per dataset also run end to end with the real models
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
/// `copies_name`; the test set's in round 0 only).
struct image_sets {
  image_set val, test, test_noise, test_shift;
  std::vector<image_set> val_noise, val_shift;  // one per round

  image_sets(const options& o) {
    const std::string& data = o.data;
    val = validation_split(load_fashion_mnist(data, "train"));
    if (o.val_limit != 0) val = first(val, o.val_limit);
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

/// The model's outputs on the set, from logits/ when computed before with the same weights,
/// images and backend, otherwise measured now.
model_outputs outputs_of(const options& o, const image_sets& sets, const std::string& model_name,
                         const std::string& set_name) {
  const pool_member& member = find_member(model_name);
  const image_set& images = sets[set_name];
  const fs::path weights = weights_file(o, model_name);
  if (!fs::exists(weights)) throw error("no weights for " + model_name + " at " + weights.string());
  const fs::path base =
      o.work / "logits" / (model_name + "." + set_name + "-" + std::to_string(images.size()));
  std::ostringstream meta;
  meta << "backend=" << experiment_backend_name << " weights=" << weights_fingerprint(weights)
       << " images=" << images.size() << " pixels=" << std::hex
       << xxh64(std::span<const std::uint8_t>(images.pixels)) << "\n";

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
               set_name.c_str(), images.size(), std::string(experiment_backend_name).c_str());
  any_model m = member.make(weights.string());
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
  std::ofstream sel(dir / "selection.txt");
  sel << "large " << o.large << "\nfirst " << chosen->first << "\nsecond " << chosen->second
      << "\nsmall " << small << "\nrule " << selected.rule << " " << selected.post_check
      << "\nbudget_macs " << budget << "\n";
  for (const rule_choice& c : chosen->rules) {
    sel << "threshold " << c.rule << " " << c.post_check << " " << c.threshold << " " << c.accuracy
        << "\n";
  }
  sel.close();  // read back below
  std::ofstream(dir / "learned_rule.txt") << chosen->learned.to_string();
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
  std::size_t macs_large, macs_small, macs_first, macs_second;
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
  double model_ms = 0, macs = 0;
  const std::size_t model_macs[] = {m.macs_large, m.macs_small, m.macs_first, m.macs_second};
  int k = 0;
  for (Model* model : {m.large, m.small, m.first, m.second}) {
    model_ms += model->ms;
    macs += static_cast<double>(model->runs) * static_cast<double>(model_macs[k++]);
  }
  r.ms_per_image = (loop_ms + model_ms) / n;
  r.overhead_us = 1e3 * (loop_ms / n);
  r.macs_per_image = macs / n;
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

int run(const options& o) {
  const image_sets sets(o);
  const selection s = read_selection(o.work / "calibration");
  if (s.large != o.large || !s.memory)
    throw error("the calibration was made against " + s.large +
                (s.memory ? "" : " without memory tuning") + ": run the calibrate step again");
  std::printf("pair %s -> %s, memory rule %s%s, small model %s; backend %s; %zu test images\n",
              s.first.c_str(), s.second.c_str(), s.rule.c_str(),
              s.post_check ? " with post-check" : "", s.small.c_str(),
              std::string(experiment_backend_name).c_str(), sets.test.size());
  const std::vector<std::string> names = {o.large, s.small, s.first, s.second};
  std::map<std::string, std::vector<model_outputs>> outputs;
  for (const std::string& n : names) {
    if (outputs.contains(n)) continue;
    for (const std::string& set : {std::string("test"), copies_name("test", perturbation::noise),
                                   copies_name("test", perturbation::shift)})
      outputs[n].push_back(outputs_of(o, sets, n, set));
  }
  auto replay = [&](const std::string& n) {
    return replay_model({&outputs[n][0], &outputs[n][1], &outputs[n][2]});
  };
  replay_model large = replay(names[0]), small = replay(names[1]), first = replay(names[2]),
               second = replay(names[3]);
  const stream_models<replay_model> models{&large,
                                           &small,
                                           &first,
                                           &second,
                                           find_member(names[0]).macs,
                                           find_member(names[1]).macs,
                                           find_member(names[2]).macs,
                                           find_member(names[3]).macs};

  std::printf("\nper-image model time (thread CPU ms, mean over the test set; wall in brackets)\n");
  for (const std::string& n : {names[0], names[1], names[2], names[3]}) {
    std::printf("  %-26s %8.3f (%8.3f)  %s\n", n.c_str(), mean(outputs[n][0].cpu_ms),
                mean(outputs[n][0].wall_ms),
                outputs[n][0].joules >= 0
                    ? ("joules/image " + std::to_string(outputs[n][0].joules /
                                                        static_cast<double>(outputs[n][0].size())))
                          .c_str()
                    : "");
  }
  if (energy_joules()) {
    std::printf(
        "energy: RAPL package counter found; joules per image above are whole-package figures\n");
  } else {
    std::printf(
        "energy: no energy counter on this machine (no /sys/class/powercap RAPL): "
        "time and MACs stand in for energy\n");
  }

  const std::vector<dataset> data =
      make_datasets("test", sets.test, sets.test_noise, sets.test_shift);
  std::vector<result> results;
  for (const dataset& d : data) {
    if (d.name == "test_shifted_dup" && sets.test_shift.size() == 0) continue;
    for (const result& r : run_configs(d, models, s)) results.push_back(r);
  }

  if (o.live != 0) {
    // The first `live` images of every dataset, end to end with the real models, beside the
    // replayed figures for the same images.
    std::map<std::string, std::unique_ptr<any_model>> real;
    for (const std::string& n : names) {
      if (real.contains(n)) continue;
      real[n] = std::make_unique<any_model>(find_member(n).make(weights_file(o, n).string()));
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
          f(*real[names[2]], inputs), se(*real[names[3]], inputs);
      const stream_models<live_model> live_models{&l,
                                                  &sm,
                                                  &f,
                                                  &se,
                                                  models.macs_large,
                                                  models.macs_small,
                                                  models.macs_first,
                                                  models.macs_second};
      const std::vector<result> live = run_configs(d, live_models, s);
      const std::vector<result> replayed = run_configs(d, models, s);
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
         "memory_us_per_image,first_model_us_per_image,backend\n";
  for (const result& r : results) {
    csv << r.dataset << "," << r.config << "," << r.images << "," << r.accuracy << ","
        << r.macs_per_image << "," << r.ms_per_image << "," << r.second_rate << "," << r.hit_rate
        << "," << r.saving << "," << r.overhead_us << "," << r.cache.near_hits << ","
        << r.cache.collisions << "," << r.cache.evictions << "," << r.wrong_hits << ","
        << r.wrong_hit_rate << "," << r.memory_us << "," << r.first_model_us << ","
        << experiment_backend_name << "\n";
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
      const model_outputs out = outputs_of(o, sets, m, set);
      std::printf(
          "%-26s %-11s images=%zu accuracy=%.4f cpu_ms_per_image=%.3f wall_ms_per_image=%.3f\n",
          m.c_str(), set.c_str(), out.size(), accuracy(out, sets[set].labels), mean(out.cpu_ms),
          mean(out.wall_ms));
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
