// fuzz_topology_xml: a topology file (COLOSSUS_TOPO_FILE, or a dump from
// another host) is outside input. from_xml either returns a topology or
// throws colossus::Error with a message; nothing else. A topology it
// accepts must survive export and import unchanged: to_xml of the re-import
// equals the first export.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "colossus/error.hpp"
#include "topology/xml.hpp"

using namespace colossus;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("fuzz_topology_xml: property failed: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const topology::Topology t = topology::from_xml(text, "<fuzz>");
    const std::string once = topology::to_xml(t);
    const std::string twice = topology::to_xml(topology::from_xml(once, "<re-import>"));
    check(once == twice, "an accepted topology survives export and import");
  } catch (const Error& e) {
    check(std::string(e.what()).size() > 0, "a refusal says why");
  }
  return 0;
}
