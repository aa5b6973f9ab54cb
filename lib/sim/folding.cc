#include "sim/folding.hpp"

namespace colossus::sim {

Folding choose_folding(const Fabric& fabric, const Workload& work, std::string* why) {
  if (!fabric.asymmetry().empty()) {
    *why = fabric.asymmetry();
    return Folding{};
  }
  if (!work.symmetry) {
    *why = work.name + " Plans are not folded";
    return Folding{};
  }
  Folding f = work.symmetry(fabric.layout(), why);
  if (!f.active()) return f;
  const std::string bad = algorithms::check_symmetry(&f, work.plans_of);
  if (!bad.empty()) {
    *why = work.name + " plans are not symmetric: " + bad;
    return Folding{};
  }
  why->clear();
  return f;
}

}  // namespace colossus::sim
