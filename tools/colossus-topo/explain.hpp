// explain.hpp: colossus-topo --explain COLL SIZE: the tuner's table for one call.
#pragma once

#include <cstdio>
#include <string>

#include "topology/mapping.hpp"

namespace colossus::topo_tool {

// Prints the cost model read off `paths` and every candidate (algorithm x
// channels x chunk) with its predicted time, the pick first. `algo` narrows
// the candidates as COLOSSUS_ALGO does. Throws colossus::Error on a bad
// collective name, size or algorithm spec.
void print_explain(std::FILE* out, const topology::PathModel& paths, const std::string& coll,
                   const std::string& size, const std::string& algo);

}  // namespace colossus::topo_tool
