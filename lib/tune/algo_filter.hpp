// algo_filter.hpp: which algorithms the user allows, per collective.
//
// Parses COLOSSUS_ALGO (and, in the drop-in, NCCL_ALGO) with NCCL_ALGO's
// syntax:
//   "ring"                        only ring, for every collective
//   "tree,ring"                   tree or ring
//   "^ring"                       anything but ring
//   "allreduce:tree;allgather:ring"  per collective; unnamed collectives unrestricted
//   "allreduce:^ring,tree"        '^' applies to the whole list after it
// An empty string allows everything. A list without "collective:" that
// leaves a collective no algorithm implementing it (COLOSSUS_ALGO=tree for
// allgather) does not restrict that collective, as NCCL_ALGO behaves; a
// per-collective list that does so is the caller's error. Unknown names are an error that lists
// the known ones; the tuner then picks among what is allowed and supported.
#pragma once

#include <array>
#include <string>

#include "algorithms/algorithm.hpp"

namespace colossus::tune {

class AlgoFilter {
 public:
  AlgoFilter();  // allows everything
  // Throws colossus::Error(InvalidArgument) on a malformed spec.
  static AlgoFilter parse(const std::string& spec);

  bool allows(plan::Collective coll, algorithms::Algo algo) const;
  // Whether the user restricted this collective at all.
  bool restricted(plan::Collective coll) const;
  // Whether the spec named this collective ("allgather:ring").
  bool named(plan::Collective coll) const { return named_[static_cast<std::size_t>(coll)]; }
  const std::string& spec() const { return spec_; }

 private:
  // allowed_[coll] bit i: Algo i allowed.
  std::array<unsigned, plan::kNumCollectives> allowed_{};
  std::array<bool, plan::kNumCollectives> restricted_{};
  std::array<bool, plan::kNumCollectives> named_{};
  std::string spec_;
};

}  // namespace colossus::tune
