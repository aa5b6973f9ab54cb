// colossus-topo: prints a topology (this host, a preset or a file) the way
// lstopo and `nvidia-smi topo -m` do together, and optionally a rank mapping
// with the path costs the tuner sees. See tools/README.md.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "colossus-topo/explain.hpp"
#include "colossus-topo/print.hpp"
#include "colossus/error.hpp"
#include "topology/discover.hpp"
#include "topology/mapping.hpp"
#include "topology/presets.hpp"
#include "topology/xml.hpp"

namespace {

const char* usage_text() {
  return "usage: colossus-topo [--preset NAME[:nodes=N] | --file X.xml] [--dump X.xml]\n"
         "                     [--ranks N [--ranks-per-host R]] [--explain COLL SIZE [--algo "
         "SPEC]]\n"
         "\n"
         "Prints a topology: hosts, NUMA domains, PCIe switches, GPUs and NICs with\n"
         "speeds, the GPU/NIC matrix (NV# NVLink, PIX/PHB/NODE/SYS PCIe distance),\n"
         "rails, NVLink domains and the network by tier. Without --preset or --file:\n"
         "this host, discovered (COLOSSUS_TOPO_FILE and COLOSSUS_TOPO_DUMP_FILE apply).\n"
         "\n"
         "  --preset SPEC        laptop, dgx-h100, colossus, gb200-nvl72; :nodes=N scales\n"
         "  --file X.xml         load a topology file (as written by --dump)\n"
         "  --dump X.xml         write the topology shown as XML\n"
         "  --ranks N            map N ranks onto it (rank r on host r / R, GPU r % R)\n"
         "  --ranks-per-host R   default: GPUs per host, or N spread over the hosts\n"
         "  --explain COLL SIZE  the tuner's candidates for one call (allreduce 1M) on\n"
         "                       the mapped ranks (default: every GPU, or one rank per host);\n"
         "                       SIZE as nccl-tests: allgather's output, alltoall's buffer\n"
         "                       per rank, gather's output, scatter's input\n"
         "  --algo SPEC          narrow the candidates as COLOSSUS_ALGO does (^ring, tree)\n"
         "  -h, --help           this text\n"
         "\n"
         "Exit status: 0 on success, 2 on bad usage, 1 on an error (bad file, ranks\n"
         "that do not fit).\n";
}

struct Options {
  std::string preset, file, dump;
  int ranks = 0, ranks_per_host = 0;
  std::string explain_coll, explain_size, algo;
};

int usage(const std::string& why) {
  std::fprintf(stderr, "colossus-topo: %s\n%s", why.c_str(), usage_text());
  return 2;
}

bool parse_count(const char* text, int* out) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end || v < 1 || v > 10'000'000) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace colossus;
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage_text(), stdout);
      return 0;
    }
    const std::size_t eq = arg.find('=');
    const bool has_eq = arg.rfind("--", 0) == 0 && eq != std::string::npos;
    if (has_eq) value = arg.substr(eq + 1), arg = arg.substr(0, eq);
    auto take = [&]() -> bool {
      if (has_eq) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (arg == "--explain") {
      if (i + 2 >= argc) return usage("--explain needs a collective and a size");
      o.explain_coll = argv[++i];
      o.explain_size = argv[++i];
    } else if (arg == "--preset" || arg == "--file" || arg == "--dump" || arg == "--ranks" ||
               arg == "--ranks-per-host" || arg == "--algo") {
      if (!take()) return usage(arg + " needs a value");
      if (arg == "--preset")
        o.preset = value;
      else if (arg == "--file")
        o.file = value;
      else if (arg == "--dump")
        o.dump = value;
      else if (arg == "--algo")
        o.algo = value;
      else if (arg == "--ranks" && !parse_count(value.c_str(), &o.ranks))
        return usage("--ranks expects a positive integer, got '" + value + "'");
      else if (arg == "--ranks-per-host" && !parse_count(value.c_str(), &o.ranks_per_host))
        return usage("--ranks-per-host expects a positive integer, got '" + value + "'");
    } else {
      return usage("unknown argument '" + arg + "'");
    }
  }
  if (!o.preset.empty() && !o.file.empty()) return usage("--preset and --file exclude each other");
  if (o.ranks_per_host && !o.ranks) return usage("--ranks-per-host needs --ranks");
  try {
    const topology::Topology topo = !o.preset.empty() ? topology::make_preset(o.preset)
                                    : !o.file.empty() ? topology::load_xml(o.file)
                                                      : topology::local_view();
    if (!o.dump.empty()) topology::save_xml(topo, o.dump);
    topo_tool::print_topology(stdout, topo);
    if (o.ranks > 0) {
      const topology::PathModel paths(topo, topology::map_ranks(topo, o.ranks, o.ranks_per_host));
      topo_tool::print_ranks(stdout, paths);
    }
    if (!o.explain_coll.empty()) {
      int n = o.ranks;
      if (n == 0) {
        int gpus = 0;
        for (const auto& h : topo.hosts) gpus += h.num_gpu > 0 ? h.num_gpu : 1;
        n = gpus;
      }
      const topology::PathModel paths(topo, topology::map_ranks(topo, n, o.ranks_per_host));
      topo_tool::print_explain(stdout, paths, o.explain_coll, o.explain_size, o.algo);
    }
  } catch (const colossus::Error& e) {
    std::fprintf(stderr, "colossus-topo: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "colossus-topo: %s\n", e.what());
    return 1;
  }
  return 0;
}
