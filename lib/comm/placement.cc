#include "comm/placement.hpp"

#include "topology/discover.hpp"
#include "topology/mapping.hpp"
#include "topology/presets.hpp"
#include "topology/xml.hpp"
#include "tune/from_topology.hpp"

namespace colossus::comm {

namespace {

bool is_file(const std::string& spec) {
  return spec.find('/') != std::string::npos ||
         (spec.size() > 4 && spec.compare(spec.size() - 4, 4, ".xml") == 0);
}

Placement from_map(const topology::Topology& topo, topology::RankMap map,
                   const std::string& source) {
  Placement p;
  p.description = map.describe();
  p.layout = algorithms::Layout::from_nodes(map.node_of_rank());
  const topology::PathModel paths(topo, std::move(map));
  p.model = tune::cost_model(paths, source);
  return p;
}

Placement onto_spec(int nranks, const std::string& spec) {
  const topology::Topology topo =
      is_file(spec) ? topology::load_xml(spec) : topology::make_preset(spec);
  return from_map(topo, topology::map_ranks(topo, nranks), "topology " + spec);
}

}  // namespace

Placement place_local(int nranks, const std::string& spec) {
  if (!spec.empty()) return onto_spec(nranks, spec);
  const topology::Topology topo = topology::local_view();
  return from_map(topo,
                  topology::map_ranks(topo, std::vector<int>(static_cast<std::size_t>(nranks), 0)),
                  "this host");
}

Placement place_job(bootstrap::OutOfBand& oob, const std::string& spec) {
  if (!spec.empty()) return onto_spec(oob.nranks(), spec);
  const std::vector<std::string> views =
      oob.allgather(topology::serialize_host(topology::local_view()));
  std::vector<int> host_of_rank;
  const topology::Topology global = topology::merge_hosts(views, &host_of_rank);
  return from_map(global, topology::map_ranks(global, host_of_rank), "discovered hosts");
}

}  // namespace colossus::comm
