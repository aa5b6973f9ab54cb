// pattern.hpp: the data the correctness check puts in and expects back.
//
// Rank r's input element i is a small number chosen so that the reduction
// over ranks is exact in the element type wherever the type allows it:
//   sum, avg  integers in [-k, k] (unsigned: [0, k]) with n*k within the
//             type's exact-integer range, so every partial sum, in any order
//             and any grouping, is exact;
//   prod      +-1 and at most 6 twos per element (powers of two are exact
//             and no type overflows, e4m3's 448 included);
//   max, min  integers in a range every type represents exactly.
// Only avg on floating types (a division) and sum where n*k cannot stay in
// range (fp8 beyond 8 or 16 ranks) are compared with a tolerance, derived
// from the type's unit roundoff and n.
//
// Values repeat with a prime period in i, so a buffer of any size is filled
// by copying an encoded table, and the check compares against a table of
// the same period: O(count) per rank, whatever n. The seed changes the
// values between check repetitions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "colossus/types.hpp"

namespace colossus::perf {

inline constexpr std::size_t kPatternPeriod = 1021;

class Pattern {
 public:
  Pattern(DataType type, ReduceOp op, int nranks, uint64_t seed);

  // Rank `rank`'s input for element phases 0..kPatternPeriod-1, encoded.
  std::vector<unsigned char> input_table(int rank) const;

  // The reduction over all ranks, per phase: exact values, the same
  // encoded, and the tolerance allowed (0: must match bit for bit).
  struct Reduced {
    std::vector<unsigned char> encoded;
    std::vector<double> value;
    double tolerance = 0;  // same for every phase: the patterns' bound
  };
  Reduced reduced_table() const;

  // A value written into receive buffers before a collective, which no
  // pattern produces: an element the collective should have written but
  // did not still holds it and is counted wrong.
  static double poison(DataType type);

  DataType type() const { return type_; }

 private:
  double input_value(int rank, std::size_t phase) const;

  DataType type_;
  ReduceOp op_;
  int nranks_;
  uint64_t seed_;
  bool signed_;
  double sum_k_;     // sum/avg magnitude bound per rank
  double minmax_r_;  // max/min: values in [0, r) (shifted by -r/2 when signed)
  int prod_stride_;  // prod: rank r gets a 2 where (r + i) % stride == 0
};

}  // namespace colossus::perf
