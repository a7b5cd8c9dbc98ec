// SPDX-License-Identifier: Apache-2.0
// The dual complementary CNNs with memory (Kinnas et al., 2024), reproduced on Fashion-MNIST with
// lmnet's cascade and result cache. Run by ./scripts/cascade-experiment; docs/cascade.md explains
// the method and the results.
//
//   lmnet_cascade_experiment logits    --work DIR [--models a,b] [--sets val,test,...] [--limit N]
//       runs pool models batch-1 over image sets, keeping logits and per-image times (.npy)
//   lmnet_cascade_experiment calibrate --work DIR [--budget 0.3]
//       on the validation split: complementarity of every pair, lambda* of every rule, the
//       learned rule, the pair and the small model the experiment uses
//   lmnet_cascade_experiment run       --work DIR [--limit N] [--live N]
//       every configuration on every test set, streamed batch-1; ends with one line each:
//       cascade <dataset> <config> accuracy=.. macs_per_image=.. ms_per_image=.. second_rate=..
//               hit_rate=.. saving_vs_large=..
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
// (hashing, cache lookups and insertions, softmax, scores, rules) is measured on the spot. `--live
// N` also runs the first N images of every dataset with the real models end to end, and prints
// both figures side by side.
#include "datasets.hpp"
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

/// The images the models run on, by name: "val", "test", and the test set's duplicates
/// "test_noise" and "test_shift" (each perturbed).
struct image_sets {
  image_set val, test, test_noise, test_shift;

  image_sets(const options& o) {
    const std::string& data = o.data;
    val = validation_split(load_fashion_mnist(data, "train"));
    if (o.val_limit != 0) val = first(val, o.val_limit);
    test = load_fashion_mnist(data, "t10k");
    if (o.limit != 0) test = first(test, o.limit);
    test_noise = duplicates(test, perturbation::noise);
    test_shift = duplicates(test, perturbation::shift);
  }

  const image_set& operator[](const std::string& name) const {
    if (name == "val") return val;
    if (name == "test") return test;
    if (name == "test_noise") return test_noise;
    if (name == "test_shift") return test_shift;
    throw error("no image set named '" + name + "' (val, test, test_noise, test_shift)");
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
// Phase 2: calibration on the validation split

// The perceptual memory: dHash with a dead zone of 4 grey levels (noise does not flip the bits of
// flat regions), matches within 6 bits, confirmed by 16x16 thumbnails within 3 grey levels.
constexpr dhash_options perceptual_hash_options{.dead_zone = 4.0f};
constexpr int perceptual_radius = 6;
constexpr float perceptual_thumbnail_distance = 3.0f;
constexpr std::size_t memory_capacity = 32768;

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

/// The evidence behind the perceptual memory's settings, on the validation split: how far a
/// perturbed copy's hash and thumbnail land from its original's, and how near distinct images are.
void perceptual_evidence(const image_set& val) {
  const std::size_t n = val.size();
  std::vector<std::uint64_t> classic(n), dead_zone(n);
  std::vector<thumbnail> thumbs(n);
  for (std::size_t i = 0; i < n; ++i) {
    const image_view v{val.image(i), image_side, image_side};
    classic[i] = dhash(v);
    dead_zone[i] = dhash(v, perceptual_hash_options);
    thumbs[i] = make_thumbnail(v);
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
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  for (perturbation kind : {perturbation::noise, perturbation::shift}) {
    const image_set copies = duplicates(val, kind);
    const std::vector<std::uint32_t> sources = duplicate_sources(n);
    std::vector<float> own_thumb(n), nearest_other(n);
    std::array<std::size_t, 65> classic_within{}, dead_zone_within{};
    for (std::size_t j = 0; j < n; ++j) {
      const image_view v{copies.image(j), image_side, image_side};
      const std::size_t s = sources[j];
      ++classic_within[static_cast<std::size_t>(hamming_distance(dhash(v), classic[s]))];
      ++dead_zone_within[static_cast<std::size_t>(
          hamming_distance(dhash(v, perceptual_hash_options), dead_zone[s]))];
      const thumbnail t = make_thumbnail(v);
      own_thumb[j] = thumbnail_distance(t, thumbs[s]);
      float nearest = 1e9f;
      for (std::size_t i = 0; i < n; ++i) {
        if (i != s) nearest = std::min(nearest, thumbnail_distance(t, thumbs[i]));
      }
      nearest_other[j] = nearest;
    }
    auto cumulative = [&](const std::array<std::size_t, 65>& counts, int radius) {
      std::size_t c = 0;
      for (int d = 0; d <= radius; ++d) c += counts[static_cast<std::size_t>(d)];
      return 100.0 * static_cast<double>(c) / static_cast<double>(n);
    };
    std::printf(
        "  %s copies: dHash of the copy within r bits of its original's (classic / dead zone "
        "%.0f)\n    ",
        std::string(perturbation_name(kind)).c_str(),
        static_cast<double>(perceptual_hash_options.dead_zone));
    for (int r : {0, 2, 4, 6, 8, 12}) {
      std::printf(" r=%d %.1f%%/%.1f%%", r, cumulative(classic_within, r),
                  cumulative(dead_zone_within, r));
    }
    std::printf(
        "\n    thumbnail distance to its original: median %.2f, 99th percentile %.2f; to the "
        "nearest "
        "other image: 1st percentile %.2f, median %.2f (grey levels)\n",
        static_cast<double>(percentile(own_thumb, 0.5)),
        static_cast<double>(percentile(own_thumb, 0.99)),
        static_cast<double>(percentile(nearest_other, 0.01)),
        static_cast<double>(percentile(nearest_other, 0.5)));
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
  std::ofstream(dir / "learned_rule.txt") << chosen->learned.to_string();
  std::printf("\nselected: %s then %s, rule %s%s; best single small model: %s\n",
              chosen->first.c_str(), chosen->second.c_str(), selected.rule.c_str(),
              selected.post_check ? " with post-check" : "", small.c_str());
  perceptual_evidence(sets.val);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Phase 3: the configurations, streamed

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

/// One image of a dataset's stream: which image set and row its logits come from, its label, its
/// raw bytes (for the cache keys).
struct item {
  std::size_t set = 0, row = 0, source = 0;  // source: the test image it is (a copy of)
  int label = 0;
  std::span<const std::uint8_t> raw;
};

struct dataset {
  std::string name;
  std::vector<item> items;
};

struct result {
  std::string dataset, config;
  std::size_t images = 0;
  double accuracy = 0, macs_per_image = 0, ms_per_image = 0, second_rate = 0, hit_rate = 0,
         saving = 0;
  double overhead_us = 0;
  cache_stats cache{};
};

struct selection {
  std::string large, first, second, small, rule;
  bool post_check = false;
  std::map<std::string, std::map<bool, float>> thresholds;  // rule -> post_check -> lambda
  std::map<std::string, std::map<bool, double>> val_accuracy;
  learned_rule learned;
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
    else if (key == "threshold") {
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

template <class Model>
struct stream_models {
  Model* large;
  Model* small;
  Model* first;
  Model* second;
  std::size_t macs_large, macs_small, macs_first, macs_second;
};

/// Streams `items` one at a time through `classify`; returns accuracy and time, the models' time
/// included.
template <class Model, class Classify>
result stream(const std::vector<item>& items, const stream_models<Model>& m, Classify&& classify) {
  for (Model* model : {m.large, m.small, m.first, m.second}) model->runs = 0, model->ms = 0;
  std::size_t right = 0;
  const double start = cpu_ms();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const item& it = items[i];
    for (Model* model : {m.large, m.small, m.first, m.second}) {
      model->at(it.set, std::is_same_v<Model, live_model> ? i : it.row);
    }
    right += classify(it).label == it.label;
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
  add("large",
      stream(d.items, m, [&](const item&) { return predict_from_logits(m.large->infer(none)); }));
  add("small",
      stream(d.items, m, [&](const item&) { return predict_from_logits(m.small->infer(none)); }));

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
        stream(d.items, m, [&](const item&) { return dual.classify(none); }));
  }
  const bool learned_post_check = better_post_check("learned");
  const learned_rule learned =
      s.learned.with_threshold(s.thresholds.at("learned").at(learned_post_check));
  {
    cascade dual(*m.first, *m.second, learned, {.post_check = learned_post_check});
    add(config_name("learned", learned_post_check),
        stream(d.items, m, [&](const item&) { return dual.classify(none); }));
  }

  // The selected rule with memory: exact keys; the paper's dHash dictionary; the verified
  // perceptual cache.
  auto with_memory = [&](auto make_rule) {
    auto memory_run = [&](const std::string& config, auto& cache, auto key_of) {
      auto dual = cascade(*m.first, *m.second, make_rule(), {.post_check = s.post_check});
      cached classifier(dual, cache, key_of);
      result r =
          stream(d.items, m, [&](const item& it) { return classifier.classify(none, it.raw); });
      r.cache = cache.stats();
      r.hit_rate = r.cache.hit_rate();
      add(config, r);
    };
    result_cache<prediction> exact({.capacity = memory_capacity});
    memory_run("dual_memory_exact", exact, exact_key_of{});
    result_cache<prediction, perceptual_key> dictionary({.capacity = memory_capacity});
    memory_run("dual_memory_dhash", dictionary, perceptual_key_of{image_side, image_side, 1, {}});
    result_cache<prediction, perceptual_key> perceptual(
        {.capacity = memory_capacity,
         .radius = perceptual_radius,
         .max_thumbnail_distance = perceptual_thumbnail_distance});
    memory_run("dual_memory_perceptual", perceptual,
               perceptual_key_of{image_side, image_side, 1, perceptual_hash_options});
  };
  if (s.rule == "learned") {
    with_memory(
        [&] { return s.learned.with_threshold(s.thresholds.at("learned").at(s.post_check)); });
  } else {
    with_memory([&] {
      return threshold_rule{parse_score(s.rule), s.thresholds.at(s.rule).at(s.post_check)};
    });
  }

  const double large_ms = results.front().ms_per_image;
  for (result& r : results) r.saving = 1.0 - r.ms_per_image / large_ms;
  return results;
}

std::vector<dataset> make_datasets(const image_sets& sets) {
  const image_set& test = sets.test;
  const std::vector<std::uint32_t> sources = duplicate_sources(test.size());
  std::vector<item> originals;
  for (std::size_t i = 0; i < test.size(); ++i)
    originals.push_back({0, i, i, test.labels[i], test.image(i)});
  // Duplicates are appended after all originals (exact copies, or perturbed ones from their set).
  auto doubled = [&](std::size_t set, const image_set* perturbed) {
    std::vector<item> items = originals;
    for (std::size_t j = 0; j < sources.size(); ++j) {
      const std::size_t source = sources[j];
      if (perturbed == nullptr) {
        items.push_back({0, source, source, test.labels[source], test.image(source)});
      } else {
        items.push_back({set, j, source, perturbed->labels[j], perturbed->image(j)});
      }
    }
    return items;
  };
  return {{"test", originals},
          {"test_dup", doubled(0, nullptr)},
          {"test_noisy_dup", doubled(1, &sets.test_noise)},
          {"test_shifted_dup", doubled(2, &sets.test_shift)}};
}

/// The first `count` images of a dataset's stream, keeping its shape: half originals, then the
/// duplicates of those originals in stream order.
dataset shorten(const dataset& d, std::size_t count) {
  dataset out{d.name, {}};
  const std::size_t originals = d.name == "test" ? count : count / 2;
  for (const item& it : d.items) {
    if (it.source < originals && out.items.size() < count) out.items.push_back(it);
  }
  return out;
}

void print(const result& r, const char* prefix = "cascade") {
  std::printf(
      "%s %s %s accuracy=%.4f macs_per_image=%.0f ms_per_image=%.3f second_rate=%.4f hit_rate=%.4f "
      "saving_vs_large=%.4f\n",
      prefix, r.dataset.c_str(), r.config.c_str(), r.accuracy, r.macs_per_image, r.ms_per_image,
      r.second_rate, r.hit_rate, r.saving);
}

int run(const options& o) {
  const image_sets sets(o);
  const selection s = read_selection(o.work / "calibration");
  if (s.large != o.large)
    throw error("the calibration was made against " + s.large + ", not " + o.large +
                ": run the calibrate step again");
  std::printf("pair %s -> %s, memory rule %s%s, small model %s; backend %s; %zu test images\n",
              s.first.c_str(), s.second.c_str(), s.rule.c_str(),
              s.post_check ? " with post-check" : "", s.small.c_str(),
              std::string(experiment_backend_name).c_str(), sets.test.size());
  const std::vector<std::string> names = {o.large, s.small, s.first, s.second};
  std::map<std::string, std::vector<model_outputs>> outputs;
  for (const std::string& n : names) {
    if (outputs.contains(n)) continue;
    for (const char* set : {"test", "test_noise", "test_shift"})
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

  const std::vector<dataset> data = make_datasets(sets);
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
         "vs_large,"
         "overhead_us_per_image,near_hits,collisions,evictions,backend\n";
  for (const result& r : results) {
    csv << r.dataset << "," << r.config << "," << r.images << "," << r.accuracy << ","
        << r.macs_per_image << "," << r.ms_per_image << "," << r.second_rate << "," << r.hit_rate
        << "," << r.saving << "," << r.overhead_us << "," << r.cache.near_hits << ","
        << r.cache.collisions << "," << r.cache.evictions << "," << experiment_backend_name << "\n";
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
