// partition.hpp: splitting a range of elements into channel parts and blocks.
#pragma once

#include <algorithm>
#include <cstddef>

namespace colossus::algorithms {

inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
inline std::size_t round_up(std::size_t a, std::size_t b) { return ceil_div(a, b) * b; }

struct Range {
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
};

// Part i of `parts` near-equal parts of [0,total): boundaries on multiples
// of `align` (the end excepted), sizes differing by at most `align`, none
// empty unless `total` holds fewer than `parts` aligned units. Balanced
// rather than "full parts, then a short one, then empty ones": every rank of
// a ring then moves the same amount at every step but for one unit, which
// keeps the schedule symmetric (the simulator folds such ranks).
inline Range part(std::size_t total, int parts, int i, std::size_t align) {
  const std::size_t units = ceil_div(total, align), p = static_cast<std::size_t>(parts);
  // Rounding edges up puts the larger parts first: part 0 is the largest.
  auto edge = [&](std::size_t k) { return std::min(total, ceil_div(units * k, p) * align); };
  return {edge(static_cast<std::size_t>(i)), edge(static_cast<std::size_t>(i) + 1)};
}

// The size of the largest part() of [0,total).
inline std::size_t max_part(std::size_t total, int parts, std::size_t align) {
  return std::min(total, ceil_div(ceil_div(total, align), static_cast<std::size_t>(parts)) * align);
}

// The part() of [0,total) holding position x < total (the non-empty one).
inline int part_of(std::size_t total, int parts, std::size_t x, std::size_t align) {
  const std::size_t units = ceil_div(total, align), p = static_cast<std::size_t>(parts);
  int q = static_cast<int>(std::min(p - 1, x / align * p / std::max<std::size_t>(1, units)));
  while (q > 0 && part(total, parts, q, align).begin > x) --q;
  while (q + 1 < parts && part(total, parts, q + 1, align).begin <= x) ++q;
  return q;
}

// Elements per 16 bytes (at least 1): blocks aligned to this keep the
// reduction kernels on their vector path.
inline std::size_t vector_align(std::size_t esize) { return std::max<std::size_t>(1, 16 / esize); }

// The chunk in elements for `chunk_bytes`, a multiple of `align`, at least `align`.
inline std::size_t chunk_elements(std::size_t chunk_bytes, std::size_t esize, std::size_t align) {
  return std::max(align, chunk_bytes / esize / align * align);
}

}  // namespace colossus::algorithms
