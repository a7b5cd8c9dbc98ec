// SPDX-License-Identifier: Apache-2.0
// XXH64 against libxxhash; dHash and thumbnails against naive double-precision versions and
// images whose hashes are known by construction.
#include <lmnet/cascade/cache_key.hpp>
#include <lmnet/cascade/hash.hpp>
#include <lmnet/cascade/perceptual_hash.hpp>

#include <doctest/doctest.h>
#include <xxhash.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using namespace lmnet;

TEST_CASE("xxh64 gives libxxhash's XXH64 for every length and seed") {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> bytes(300);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    for (std::uint64_t seed : {0ull, 1ull, 0x9E3779B97F4A7C15ull, ~0ull}) {
      CAPTURE(length);
      CAPTURE(seed);
      const std::span<const std::uint8_t> data(bytes.data(), length);
      CHECK(xxh64(data, seed) == XXH64(bytes.data(), length, seed));
    }
  }
  // Unaligned starts read the same bytes the same way.
  CHECK(xxh64(std::span<const std::uint8_t>(bytes.data() + 3, 100)) ==
        XXH64(bytes.data() + 3, 100, 0));
}

namespace {
/// dHash written the obvious way, in double precision: bilinear with aligned pixel centres.
std::uint64_t naive_dhash(const std::vector<std::uint8_t>& image, int height, int width,
                          double dead_zone) {
  auto sample = [&](double y, double x) {
    auto axis = [](double at, int n, int& lo, int& hi) {
      at = std::max(0.0, at);
      lo = std::min(static_cast<int>(std::floor(at)), n - 1);
      hi = std::min(lo + 1, n - 1);
      return at - lo;
    };
    int y0, y1, x0, x1;
    const double wy = axis(y, height, y0, y1), wx = axis(x, width, x0, x1);
    auto at = [&](int r, int c) {
      return static_cast<double>(image[static_cast<std::size_t>(r * width + c)]);
    };
    return (at(y0, x0) * (1 - wx) + at(y0, x1) * wx) * (1 - wy) +
           (at(y1, x0) * (1 - wx) + at(y1, x1) * wx) * wy;
  };
  std::uint64_t hash = 0;
  for (int r = 0; r < 8; ++r) {
    const double y = (r + 0.5) * height / 8.0 - 0.5;
    for (int c = 0; c < 8; ++c) {
      const double left = sample(y, (c + 0.5) * width / 9.0 - 0.5);
      const double right = sample(y, (c + 1.5) * width / 9.0 - 0.5);
      if (right - left > dead_zone) hash |= std::uint64_t{1} << (8 * r + c);
    }
  }
  return hash;
}

std::vector<std::uint8_t> random_image(int pixels, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> image(static_cast<std::size_t>(pixels));
  for (auto& p : image) p = static_cast<std::uint8_t>(rng());
  return image;
}
}  // namespace

TEST_CASE("dhash of images with known gradients") {
  std::vector<std::uint8_t> rising(28 * 28), falling(28 * 28), flat(28 * 28, 77);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      rising[static_cast<std::size_t>(y * 28 + x)] = static_cast<std::uint8_t>(9 * x);
      falling[static_cast<std::size_t>(y * 28 + x)] = static_cast<std::uint8_t>(255 - 9 * x);
    }
  }
  CHECK(dhash({rising, 28, 28}) == ~std::uint64_t{0});  // every right pixel is brighter
  CHECK(dhash({falling, 28, 28}) == 0);
  CHECK(dhash({flat, 28, 28}) == 0);
  // The resized rising image steps by 28 grey levels: a dead zone of 30 clears every bit.
  CHECK(dhash({rising, 28, 28}, {.dead_zone = 27.0f}) == ~std::uint64_t{0});
  CHECK(dhash({rising, 28, 28}, {.dead_zone = 30.0f}) == 0);
}

TEST_CASE("dhash equals a naive double-precision version on random images of several sizes") {
  for (auto [height, width] :
       {std::pair{28, 28}, std::pair{8, 9}, std::pair{32, 17}, std::pair{5, 4}}) {
    for (std::uint32_t seed = 0; seed < 20; ++seed) {
      const std::vector<std::uint8_t> image = random_image(height * width, seed);
      for (double dead_zone : {0.0, 6.5}) {
        CAPTURE(height);
        CAPTURE(width);
        CHECK(dhash({image, height, width}, {.dead_zone = static_cast<float>(dead_zone)}) ==
              naive_dhash(image, height, width, dead_zone));
      }
    }
  }
}

TEST_CASE(
    "an RGB image hashes as its ITU-R 601 grey version; strided views read the right pixels") {
  const std::vector<std::uint8_t> rgb = random_image(28 * 28 * 3, 3);
  std::vector<std::uint8_t> grey(28 * 28);
  for (std::size_t i = 0; i < grey.size(); ++i) {
    grey[i] = static_cast<std::uint8_t>(
        std::lround(0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]));
  }
  // Grey levels are rounded in `grey`, so compare thumbnails (averages) rather than bits.
  const thumbnail a = make_thumbnail({rgb, 28, 28, 3}), b = make_thumbnail({grey, 28, 28});
  CHECK(thumbnail_distance(a, b) < 1.0f);
  // The same image inside a wider buffer, rows 40 bytes apart.
  std::vector<std::uint8_t> wide(40 * 28, 255);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x)
      wide[static_cast<std::size_t>(y * 40 + x)] = grey[static_cast<std::size_t>(y * 28 + x)];
  }
  CHECK(dhash({wide, 28, 28, 1, 40}) == dhash({grey, 28, 28}));
  CHECK(make_thumbnail({wide, 28, 28, 1, 40}) == make_thumbnail({grey, 28, 28}));
}

TEST_CASE("image views that do not hold the image are errors") {
  const std::vector<std::uint8_t> small(100);
  CHECK_THROWS_WITH_AS(dhash({small, 28, 28}),
                       doctest::Contains("100 bytes for a 28x28x1 image, expected at least 784"),
                       lmnet::error);
  CHECK_THROWS_AS(dhash({small, 10, 10, 2}), lmnet::error);
  CHECK_THROWS_AS(make_thumbnail({small, 0, 10}), lmnet::error);
  CHECK_THROWS_AS(dhash({small, 10, 10, 1, 5}), lmnet::error);  // stride shorter than a row
}

TEST_CASE("a 32x32 image's thumbnail is its 2x2 block means") {
  const std::vector<std::uint8_t> image = random_image(32 * 32, 11);
  const thumbnail t = make_thumbnail({image, 32, 32});
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      auto at = [&](int r, int c) {
        return static_cast<int>(image[static_cast<std::size_t>(r * 32 + c)]);
      };
      const double mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) +
                           at(2 * y + 1, 2 * x + 1)) /
                          4.0;
      CHECK(std::abs(t.pixels[static_cast<std::size_t>(y * 16 + x)] - mean) <= 0.5 + 1e-9);
    }
  }
  thumbnail u = t;
  for (auto& p : u.pixels) p = static_cast<std::uint8_t>(p > 250 ? p - 4 : p + 4);
  CHECK(thumbnail_distance(t, u) == 4.0f);
  CHECK(thumbnail_distance(t, t) == 0.0f);
}

TEST_CASE("keys: exact keys of equal bytes are equal, perceptual keys of a noisy copy are near") {
  std::vector<std::uint8_t> image = random_image(28 * 28, 21);
  for (std::size_t i = 0; i < image.size(); ++i)
    image[i] = static_cast<std::uint8_t>(image[i] / 2 + 60);
  std::vector<std::uint8_t> copy = image, noisy = image;
  std::mt19937 rng(1);
  for (auto& p : noisy) p = static_cast<std::uint8_t>(p + static_cast<int>(rng() % 5) - 2);
  CHECK(exact_key_of{}(std::span<const std::uint8_t>(copy)) ==
        exact_key_of{}(std::span<const std::uint8_t>(image)));
  CHECK_FALSE(exact_key_of{}(std::span<const std::uint8_t>(noisy)) ==
              exact_key_of{}(std::span<const std::uint8_t>(image)));
  const perceptual_key_of key_of{28, 28, 1};
  const perceptual_key a = key_of(image), b = key_of(noisy);
  CHECK(a.check != b.check);
  CHECK(thumbnail_distance(a.view, b.view) < 2.0f);
  CHECK(hamming_distance(a.hash, dhash({image, 28, 28})) == 0);
}

namespace {
/// The brightness centre and the centred window's cell means computed the obvious way: every
/// pixel's grey level times the area its square shares with the cell, in double precision.
struct naive_centred {
  double centre_y = 0, centre_x = 0;
  std::vector<double> means;
};

naive_centred naive_centred_cells(const std::vector<double>& grey, int height, int width, int rows,
                                  int columns) {
  naive_centred out;
  double mass = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double g = grey[static_cast<std::size_t>(y * width + x)];
      mass += g;
      out.centre_y += g * (y + 0.5);
      out.centre_x += g * (x + 0.5);
    }
  }
  out.centre_y = mass > 0 ? out.centre_y / mass : height / 2.0;
  out.centre_x = mass > 0 ? out.centre_x / mass : width / 2.0;
  auto overlap = [](double a0, double a1, double b0, double b1) {
    return std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
  };
  const double cell_height = static_cast<double>(height) / rows;
  const double cell_width = static_cast<double>(width) / columns;
  for (int r = 0; r < rows; ++r) {
    const double top = out.centre_y - height / 2.0 + r * cell_height;
    for (int c = 0; c < columns; ++c) {
      const double left = out.centre_x - width / 2.0 + c * cell_width;
      double sum = 0;
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          sum += grey[static_cast<std::size_t>(y * width + x)] *
                 overlap(y, y + 1, top, top + cell_height) *
                 overlap(x, x + 1, left, left + cell_width);
        }
      }
      out.means.push_back(sum / (cell_height * cell_width));
    }
  }
  return out;
}

/// A 28x28 picture on black: a lit shape inside a border of `border` black pixels.
std::vector<std::uint8_t> picture_on_black(std::uint32_t seed, int border) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> image(28 * 28, 0);
  for (int y = border; y < 28 - border; ++y) {
    for (int x = border; x < 28 - border; ++x) {
      const bool lit = (x - 14) * (x - 14) + (y - 13) * (y - 13) < 90 || (y > 16 && x % 5 < 3);
      if (lit)
        image[static_cast<std::size_t>(y * 28 + x)] = static_cast<std::uint8_t>(60 + rng() % 190);
    }
  }
  return image;
}

/// The image moved by (dy, dx), the uncovered edge black.
std::vector<std::uint8_t> moved(const std::vector<std::uint8_t>& image, int dy, int dx) {
  std::vector<std::uint8_t> out(image.size(), 0);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const int sy = y - dy, sx = x - dx;
      if (sy >= 0 && sy < 28 && sx >= 0 && sx < 28)
        out[static_cast<std::size_t>(y * 28 + x)] = image[static_cast<std::size_t>(sy * 28 + sx)];
    }
  }
  return out;
}
}  // namespace

TEST_CASE("the centred window's centre and cell means equal a naive overlap integration") {
  for (auto [height, width] : {std::pair{28, 28}, std::pair{17, 23}, std::pair{5, 4}}) {
    for (std::uint32_t seed = 0; seed < 4; ++seed) {
      CAPTURE(height);
      CAPTURE(width);
      // Sparse random pictures, so that the centre wanders away from the frame's.
      std::vector<std::uint8_t> image = random_image(height * width, seed);
      for (std::size_t i = 0; i < image.size(); ++i) {
        if (image[i] % 3 != 0 || i % static_cast<std::size_t>(width) < 2) image[i] = 0;
      }
      const std::vector<double> grey(image.begin(), image.end());
      const naive_centred expected = naive_centred_cells(grey, height, width, 16, 16);
      const detail::centred_sampler sampler({image, height, width});
      CHECK(sampler.centre().y == doctest::Approx(expected.centre_y).epsilon(1e-12));
      CHECK(sampler.centre().x == doctest::Approx(expected.centre_x).epsilon(1e-12));
      CHECK(brightness_centre({image, height, width}).x == sampler.centre().x);
      const auto means = sampler.cell_means<16, 16>();
      for (std::size_t i = 0; i < means.size(); ++i) {
        CHECK(means[i] == doctest::Approx(expected.means[i]).epsilon(1e-9).scale(255));
      }
    }
  }
  // RGB images are read as their ITU-R 601 grey levels.
  const std::vector<std::uint8_t> rgb = random_image(9 * 11 * 3, 5);
  std::vector<double> grey(9 * 11);
  for (std::size_t i = 0; i < grey.size(); ++i) {
    grey[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
  }
  const naive_centred expected = naive_centred_cells(grey, 9, 11, 8, 9);
  const auto means = detail::centred_sampler({rgb, 9, 11, 3}).cell_means<8, 9>();
  for (std::size_t i = 0; i < means.size(); ++i) {
    CHECK(means[i] == doctest::Approx(expected.means[i]).epsilon(1e-5).scale(255));
  }
}

TEST_CASE("brightness centres of images whose centre is known") {
  std::vector<std::uint8_t> dot(20 * 30, 0);
  dot[7 * 30 + 21] = 200;
  CHECK(brightness_centre({dot, 20, 30}).y == 7.5);
  CHECK(brightness_centre({dot, 20, 30}).x == 21.5);
  dot[17 * 30 + 1] = 200;  // a second dot as bright: halfway
  CHECK(brightness_centre({dot, 20, 30}).y == doctest::Approx(12.5));
  CHECK(brightness_centre({dot, 20, 30}).x == doctest::Approx(11.5));
  const std::vector<std::uint8_t> black(20 * 30, 0);
  CHECK(brightness_centre({black, 20, 30}).y == 10.0);  // the frame's centre
  CHECK(brightness_centre({black, 20, 30}).x == 15.0);
}

TEST_CASE("a picture moved by a pixel or two keeps its centred key; the frame's dHash does not") {
  const std::vector<std::uint8_t> image = picture_on_black(3, 3);
  const perceptual_key original = make_centred_key({image, 28, 28}, {.dead_zone = 4.0f});
  int frame_hash_changes = 0;
  for (int dy = -2; dy <= 2; ++dy) {
    for (int dx = -2; dx <= 2; ++dx) {
      CAPTURE(dy);
      CAPTURE(dx);
      const std::vector<std::uint8_t> copy = moved(image, dy, dx);
      const perceptual_key key = make_centred_key({copy, 28, 28}, {.dead_zone = 4.0f});
      CHECK(brightness_centre({copy, 28, 28}).y ==
            doctest::Approx(brightness_centre({image, 28, 28}).y + dy));
      CHECK(key.hash == original.hash);
      CHECK(thumbnail_distance(key.view, original.view) < 0.02f);  // a level off, rarely
      CHECK(key.hash == centred_dhash({copy, 28, 28}, {.dead_zone = 4.0f}));
      CHECK(key.view == make_centred_thumbnail({copy, 28, 28}));
      frame_hash_changes +=
          dhash({copy, 28, 28}, {.dead_zone = 4.0f}) != dhash({image, 28, 28}, {.dead_zone = 4.0f});
    }
  }
  CHECK(frame_hash_changes >= 20);  // of the 24 moves: what the centred key is for
}

TEST_CASE("a picture centred in its frame has the frame's thumbnail as its centred thumbnail") {
  // Symmetric about the frame's centre, so its brightness centre is the frame's.
  std::vector<std::uint8_t> image(28 * 28);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      image[static_cast<std::size_t>(y * 28 + x)] =
          static_cast<std::uint8_t>((std::abs(2 * y - 27) * 13 + std::abs(2 * x - 27) * 7) % 256);
    }
  }
  CHECK(brightness_centre({image, 28, 28}).x == doctest::Approx(14.0));
  CHECK(thumbnail_distance(make_centred_thumbnail({image, 28, 28}),
                           make_thumbnail({image, 28, 28})) < 0.01f);
  CHECK_THROWS_WITH_AS(make_centred_key({std::span(image).first(100), 28, 28}),
                       doctest::Contains("100 bytes for a 28x28x1 image"), lmnet::error);
  const centred_key_of rgb_key_of{28, 28, 3};  // three bytes a pixel: the image is too short
  CHECK_THROWS_AS(rgb_key_of(image), lmnet::error);
}
