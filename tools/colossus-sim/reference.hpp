// reference.hpp: --loopback's inputs and the float64 reference its outputs
// are checked against, element by element, for equality.
#pragma once

#include <cstddef>
#include <vector>

#include "colossus/types.hpp"
#include "plan/plan.hpp"

namespace colossus::sim_tool {

// Inputs that every reduction order sums exactly in the call's type, so a
// float64 reference checks every output element for equality: rank r's
// element i is value(r, i), a small non-negative integer, and at most
// `nranks` of them meet in one sum, which stays below the largest integer
// up to which the type is exact (2048 for half, 16 for f8e4m3, ...).
class InputRule {
 public:
  InputRule(DataType type, int nranks, bool reduces);
  double value(int rank, std::size_t i) const {
    const std::size_t r = static_cast<std::size_t>(rank);
    if ((r + i) % stride_ != 0) return 0;
    return static_cast<double>(1 + (r * 7 + i * 3) % bound_);
  }

 private:
  std::size_t bound_ = 1;   // values are 1..bound_ (or 0)
  std::size_t stride_ = 1;  // rank r contributes to element i only if (r + i) % stride_ == 0
};

// Element i of a buffer of `type`, as double (exact), and back (exact for
// the values InputRule makes).
double load_element(DataType type, const void* base, std::size_t i);
void store_element(DataType type, void* base, std::size_t i, double v);

// Whether the collective sums inputs of several ranks into one element.
bool reduces(plan::Collective c);

// Expected output element j of rank r, in float64. Building it sums every
// rank's inputs once (n x count additions), so checking is one compare.
class Reference {
 public:
  Reference(const plan::CollArgs& a, const InputRule& rule);
  double at(int rank, std::size_t j) const;

 private:
  plan::CollArgs args_;
  const InputRule& rule_;
  std::vector<double> sums_;  // reducing collectives: the sum of every input element
};

}  // namespace colossus::sim_tool
