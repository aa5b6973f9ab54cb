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

// Part i of `parts` near-equal parts of [0,total), each a multiple of `align`
// (the last absorbs the remainder; trailing parts may be empty).
inline Range part(std::size_t total, int parts, int i, std::size_t align) {
  const std::size_t step = round_up(ceil_div(total, static_cast<std::size_t>(parts)), align);
  const std::size_t b = std::min(total, step * static_cast<std::size_t>(i));
  return {b, std::min(total, b + step)};
}

// Elements per 16 bytes (at least 1): blocks aligned to this keep the
// reduction kernels on their vector path.
inline std::size_t vector_align(std::size_t esize) { return std::max<std::size_t>(1, 16 / esize); }

// The chunk in elements for `chunk_bytes`, a multiple of `align`, at least `align`.
inline std::size_t chunk_elements(std::size_t chunk_bytes, std::size_t esize, std::size_t align) {
  return std::max(align, chunk_bytes / esize / align * align);
}

}  // namespace colossus::algorithms
