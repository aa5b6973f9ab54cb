#include "colossus-sim/options.hpp"

#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>

#include "base/config.hpp"
#include "colossus/error.hpp"
#include "tune/algo_filter.hpp"

namespace colossus::sim_tool {

const char* usage_text() {
  return "usage: colossus-sim --topo SPEC [-n N] [--coll C] [-b MIN] [-e MAX] [-f F] [-d TYPE]\n"
         "                    [--algo LIST] [--nch N] [--chunk SIZE] [--pick] [--csv | --json]\n"
         "                    [--trace FILE] [--no-fold]\n"
         "                    [--no-progress]\n"
         "       colossus-sim --loopback -n N --topo SPEC [size and type flags]\n"
         "\n"
         "Simulates a collective on a modeled fabric in virtual time, for every size\n"
         "MIN, MIN*F, ... <= MAX and every algorithm that implements it, next to the\n"
         "tuner's prediction; '*' marks the algorithm the tuner picks.\n"
         "\n"
         "  --topo SPEC          preset (laptop, dgx-h100, colossus, gb200-nvl72, with\n"
         "                       :nodes=N) or topology XML file (a path with '/' or .xml)\n"
         "  -n, --nranks N       ranks (default: every GPU of the topology); rank r on\n"
         "                       host r / G, GPU r % G (G = GPUs per host)\n"
         "  -c, --coll C         allreduce (default), allgather, reduce_scatter, broadcast,\n"
         "                       reduce, gather, scatter (root 0, sum), alltoall,\n"
         "                       alltoallv (pairwise, the communicator's fixed parameters),\n"
         "                       sendrecv (a point-to-point pattern, see --pattern)\n"
         "  -b, --minbytes SIZE  smallest size (default 8); 8, 4K, 1M, 1G\n"
         "  -e, --maxbytes SIZE  largest size (default 128M)\n"
         "  -f, --stepfactor F   size multiplier, an integer >= 2 (default 2)\n"
         "                       Sizes are the whole vector, as nccl-tests: allgather's\n"
         "                       output, reduce_scatter's input, a rank's alltoall buffer,\n"
         "                       gather's output, scatter's input (count per rank or\n"
         "                       block = SIZE / type size / N; sizes where that is 0 are\n"
         "                       skipped); alltoallv: a rank's mean buffer; sendrecv:\n"
         "                       one message\n"
         "  -d, --datatype TYPE  float (default), half, bfloat16, double, int32, int8,\n"
         "                       uint8, uint32, int64, uint64, f8e4m3, f8e5m2\n"
         "  --algo LIST          algorithms to try and to let the tuner pick from,\n"
         "                       COLOSSUS_ALGO syntax: ring  tree,ring  ^ring\n"
         "  --pattern P          sendrecv: pipeline:S (ranks in S consecutive stages, each\n"
         "                       rank of stage s sends to the same-index rank of stage\n"
         "                       s+1; default pipeline:2) or shift:K (rank r sends to r+K)\n"
         "  --skew Z, --jitter J, --seed N  alltoallv counts, as an MoE dispatch: the\n"
         "                       block to rank j is the mean x a Zipf(Z) popularity of j\n"
         "                       (hot ranks drawn from the seed) x per-pair noise uniform\n"
         "                       in [1-J, 1+J] (defaults 0, 0, 1: the even alltoall)\n"
         "  --csv, --json        one CSV row / one JSON object per size and algorithm\n"
         "  --trace FILE         Chrome/Perfetto trace (chrome://tracing, ui.perfetto.dev)\n"
         "                       of the tuner's pick at the first size only\n"
         "  --nch N, --chunk SIZE  fix every candidate's channels / chunk (as\n"
         "                       COLOSSUS_NCHANNELS / COLOSSUS_CHUNK_BYTES fix a run's)\n"
         "  --pick               simulate the tuner's pick only (one row per size)\n"
         "  --no-fold            simulate every rank (no folding of symmetric ranks)\n"
         "  --no-progress        no progress bar (shown on a terminal's stderr otherwise)\n"
         "  --loopback           laptop mode (the first five collectives): run the tuner's\n"
         "                       pick for the target fabric\n"
         "                       with real data, N ranks as threads of this process\n"
         "                       (needs -n; at most 64 MiB per rank buffer), check every\n"
         "                       output element, and print measured time here next to the\n"
         "                       time predicted on the target fabric\n"
         "  -h, --help           this text\n"
         "\n"
         "Exit status: 0 on success, 2 on bad usage, 1 on a library error or a loopback\n"
         "result that does not match the reference.\n";
}

std::string Pattern::describe() const {
  return std::string(kind == Pipeline ? "pipeline:" : "shift:") + std::to_string(value);
}

namespace {

// "sendrecv" (or either side's name): a point-to-point pattern.
plan::Collective parse_collective(const std::string& name, bool* sendrecv) {
  std::string low;
  for (const char c : name) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  *sendrecv = low == "sendrecv" || low == "send" || low == "recv";
  if (*sendrecv) return plan::Collective::Send;
  if (const auto coll = plan::parse_collective(name)) return *coll;
  throw UsageError("unknown collective '" + name + "' (" + plan::collective_names() +
                   ", sendrecv)");
}

double parse_real(const std::string& flag, const std::string& text, double lo, double hi) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || !(v >= lo && v <= hi)) {
    throw UsageError(flag + " expects a number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + text + "'");
  }
  return v;
}

Pattern parse_pattern(const std::string& flag, const std::string& text) {
  const std::size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  Pattern p;
  if (kind == "pipeline") {
    p.kind = Pattern::Pipeline;
  } else if (kind == "shift") {
    p.kind = Pattern::Shift;
  } else {
    throw UsageError(flag + " expects pipeline:S or shift:K, got '" + text + "'");
  }
  if (colon == std::string::npos)
    throw UsageError(flag + " " + kind + " needs its number (" + kind + ":N)");
  const std::string num = text.substr(colon + 1);
  char* end = nullptr;
  const long v = std::strtol(num.c_str(), &end, 10);
  if (num.empty() || *end || v < (p.kind == Pattern::Pipeline ? 2 : 1) || v > 10'000'000)
    throw UsageError(flag + ": '" + num + "' is not a valid " +
                     (p.kind == Pattern::Pipeline ? "stage count (>= 2)" : "shift (>= 1)"));
  p.value = static_cast<int>(v);
  return p;
}

std::size_t parse_size(const std::string& flag, const std::string& text) {
  std::size_t bytes = 0;
  if (!base::parse_bytes(text, &bytes) || bytes == 0) {
    throw UsageError(flag + " expects a positive size (8, 4K, 1M, 1G), got '" + text + "'");
  }
  return bytes;
}

long parse_int(const std::string& flag, const std::string& text, long lo, long hi) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < lo || v > hi) {
    throw UsageError(flag + " expects an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + text + "'");
  }
  return v;
}

// The tuner refuses a per-collective list that leaves the collective no
// algorithm ("allgather:tree"); say so as a usage error before any work.
void check_algo(const std::string& spec, plan::Collective coll) {
  tune::AlgoFilter filter;
  try {
    filter = tune::AlgoFilter::parse(spec);
  } catch (const Error& e) {
    throw UsageError(std::string("--algo: ") + e.what());
  }
  for (int i = 0; i < algorithms::kNumAlgos; ++i) {
    const auto a = static_cast<algorithms::Algo>(i);
    if (algorithms::supports(a, coll) && filter.allows(coll, a)) return;
  }
  if (filter.named(coll)) {
    throw UsageError("--algo \"" + spec + "\" leaves no algorithm that implements " +
                     plan::to_string(coll));
  }
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_n = false;
  // Flags that take a value, by every spelling, and what to do with it.
  using Setter = std::function<void(const std::string& flag, const std::string& value)>;
  const Setter topo = [&](const std::string&, const std::string& v) { o.topo = v; };
  const Setter nranks = [&](const std::string& f, const std::string& v) {
    o.nranks = static_cast<int>(parse_int(f, v, 1, 10'000'000));
    have_n = true;
  };
  const Setter coll = [&](const std::string&, const std::string& v) {
    o.coll = parse_collective(v, &o.sendrecv);
  };
  bool have_pattern = false, have_skew = false;
  const Setter pattern = [&](const std::string& f, const std::string& v) {
    o.pattern = parse_pattern(f, v);
    have_pattern = true;
  };
  const Setter zipf = [&](const std::string& f, const std::string& v) {
    o.skew.zipf = parse_real(f, v, 0, 100);
    have_skew = true;
  };
  const Setter jitter = [&](const std::string& f, const std::string& v) {
    o.skew.jitter = parse_real(f, v, 0, 0.999);
    have_skew = true;
  };
  const Setter seed = [&](const std::string& f, const std::string& v) {
    o.skew.seed = static_cast<std::uint64_t>(parse_int(f, v, 0, 1L << 62));
    have_skew = true;
  };
  const Setter minb = [&](const std::string& f, const std::string& v) {
    o.min_bytes = parse_size(f, v);
  };
  const Setter maxb = [&](const std::string& f, const std::string& v) {
    o.max_bytes = parse_size(f, v);
  };
  const Setter factor = [&](const std::string& f, const std::string& v) {
    o.factor = static_cast<std::size_t>(parse_int(f, v, 2, 1L << 30));
  };
  const Setter dtype = [&](const std::string& f, const std::string& v) {
    if (!parse_dtype(v, &o.dtype)) throw UsageError(f + ": unknown data type '" + v + "'");
  };
  const Setter algo = [&](const std::string&, const std::string& v) { o.algo = v; };
  const Setter trace = [&](const std::string& f, const std::string& v) {
    if (v.empty()) throw UsageError(f + " needs a file name");
    o.trace_file = v;
  };
  const Setter nch = [&](const std::string& f, const std::string& v) {
    o.nchannels = static_cast<int>(parse_int(f, v, 1, 64));
  };
  const Setter chunk = [&](const std::string& f, const std::string& v) {
    o.chunk_bytes = parse_size(f, v);
  };
  const std::map<std::string, const Setter*> valued = {
      {"--nch", &nch},           {"--chunk", &chunk},
      {"--topo", &topo},         {"-n", &nranks},
      {"--nranks", &nranks},     {"-c", &coll},
      {"--coll", &coll},         {"-b", &minb},
      {"--minbytes", &minb},     {"-e", &maxb},
      {"--maxbytes", &maxb},     {"-f", &factor},
      {"--stepfactor", &factor}, {"-d", &dtype},
      {"--datatype", &dtype},    {"--algo", &algo},
      {"--trace", &trace},       {"--pattern", &pattern},
      {"--skew", &zipf},         {"--jitter", &jitter},
      {"--seed", &seed}};

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    }
    if (arg == "--csv" || arg == "--json") {
      const Format f = arg == "--csv" ? Format::Csv : Format::Json;
      if (o.format != Format::Table && o.format != f)
        throw UsageError("--csv and --json exclude each other");
      o.format = f;
      continue;
    }
    if (arg == "--pick") {
      o.pick_only = true;
      continue;
    }
    if (arg == "--no-fold") {
      o.fold = false;
      continue;
    }
    if (arg == "--no-progress") {
      o.progress = false;
      continue;
    }
    if (arg == "--loopback") {
      o.loopback = true;
      continue;
    }
    // "--flag=value", "-b8" and "-b 8" as getopt_long accepts them.
    bool inline_value = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      inline_value = true;
    } else if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' && valued.count(arg.substr(0, 2))) {
      value = arg.substr(2);
      arg = arg.substr(0, 2);
      inline_value = true;
    }
    const auto it = valued.find(arg);
    if (it == valued.end()) throw UsageError("unknown argument '" + arg + "' (see --help)");
    if (!inline_value) {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      value = argv[++i];
    }
    (*it->second)(arg, value);
  }

  if (o.topo.empty())
    throw UsageError("--topo SPEC is required (a preset such as dgx-h100, or a file)");
  if (o.min_bytes > o.max_bytes) {
    throw UsageError("-b " + std::to_string(o.min_bytes) + " is larger than -e " +
                     std::to_string(o.max_bytes));
  }
  if (have_pattern && !o.sendrecv) throw UsageError("--pattern applies to --coll sendrecv");
  if (have_skew && o.coll != plan::Collective::AllToAllv)
    throw UsageError("--skew, --jitter and --seed apply to --coll alltoallv");
  if (o.loopback && static_cast<int>(o.coll) > static_cast<int>(plan::Collective::Reduce)) {
    throw UsageError(
        "--loopback runs allreduce, allgather, reduce_scatter, broadcast and reduce only");
  }
  if (o.loopback && !have_n) throw UsageError("--loopback needs -n N (ranks as threads)");
  if (o.loopback && o.nranks > 4096) throw UsageError("--loopback runs at most 4096 ranks");
  check_algo(o.algo, o.coll);
  return o;
}

}  // namespace colossus::sim_tool
