#include "colossus-run/options.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace colossus::run {

namespace {

// Far above what one machine can host, low enough that N * per-rank pipes
// and bookkeeping stay small; a typo like -n 1000000 is caught as usage.
constexpr long kMaxRanks = 1 << 16;

long parse_count(const std::string& flag, const std::string& text, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || errno || *end != '\0' || v < lo || v > hi)
    throw UsageError(flag + " expects an integer in " + std::to_string(lo) + ".." +
                     std::to_string(hi) + ", got '" + text + "'");
  return v;
}

std::vector<std::string> split_hosts(const std::string& text) {
  std::vector<std::string> hosts;
  std::set<std::string> seen;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    // A host is a file name under /run/netns: no path tricks.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      throw UsageError(std::string("--hosts: bad host name '")
                           .append(name)
                           .append("' in '")
                           .append(text)
                           .append("'"));
    if (!seen.insert(name).second) throw UsageError("--hosts: host '" + name + "' is listed twice");
    hosts.push_back(std::move(name));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return hosts;
}

}  // namespace

const char* usage_text() {
  return "usage: colossus-run -n N [--hosts h1,h2,...] [--ranks-per-host R] [--timeout S]\n"
         "                    [--tag-output | --no-tag] [--bind-to core|none] [--] PROGRAM "
         "[ARGS...]\n"
         "\n"
         "Starts N processes of PROGRAM with COLOSSUS_RANK, COLOSSUS_WORLD_SIZE,\n"
         "COLOSSUS_LOCAL_RANK, COLOSSUS_LOCAL_SIZE, COLOSSUS_BOOTSTRAP_ADDR and\n"
         "COLOSSUS_JOB_ID set, prefixes their output lines with [rank], and stops\n"
         "all of them when one fails.\n"
         "\n"
         "  -n N                 number of ranks (default with --hosts: hosts x R)\n"
         "  --hosts LIST         run ranks inside these network namespaces (made by\n"
         "                       scripts/testbed.sh), host-major; needs root\n"
         "  --ranks-per-host R   ranks per host (default: N spread evenly over the hosts)\n"
         "  --timeout S          kill every rank after S seconds and exit 124\n"
         "  --tag-output         prefix each output line with [rank] (default)\n"
         "  --no-tag             forward output lines unprefixed\n"
         "  --bind-to core|none  core (default): pin local rank i to the i-th allowed CPU\n"
         "                       when a host's ranks fit its CPUs, else leave them free;\n"
         "                       none: never pin\n"
         "  -h, --help           this text\n"
         "\n"
         "Exit status: 0 if every rank exits 0; otherwise the first failing rank's\n"
         "exit code (128+signal if it was killed), 124 on --timeout, 128+signal when\n"
         "colossus-run is interrupted, 2 on bad usage, 1 if it cannot start the job.\n";
}

Options parse_options(int argc, const char* const* argv) {
  Options o;
  bool have_n = false, have_rph = false;
  int i = 1;
  // "--flag value" and "--flag=value" both work; the value of the last wins.
  auto value = [&](const std::string& arg, const std::string& flag) -> std::string {
    if (arg.size() > flag.size() && arg[flag.size()] == '=') return arg.substr(flag.size() + 1);
    if (i + 1 >= argc) throw UsageError(flag + " needs a value");
    return argv[++i];
  };
  auto is = [](const std::string& arg, const std::string& flag) {
    return arg == flag || (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 &&
                           arg[flag.size()] == '=');
  };
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') break;  // PROGRAM starts here
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    } else if (is(arg, "-n") || is(arg, "--np")) {
      o.nranks = static_cast<int>(
          parse_count("-n", value(arg, is(arg, "-n") ? "-n" : "--np"), 1, kMaxRanks));
      have_n = true;
    } else if (is(arg, "--hosts")) {
      o.hosts = split_hosts(value(arg, "--hosts"));
    } else if (is(arg, "--ranks-per-host")) {
      o.ranks_per_host = static_cast<int>(
          parse_count("--ranks-per-host", value(arg, "--ranks-per-host"), 1, kMaxRanks));
      have_rph = true;
    } else if (is(arg, "--timeout")) {
      const std::string text = value(arg, "--timeout");
      char* end = nullptr;
      const double t = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(t) || t <= 0 || t > 1e7)
        throw UsageError("--timeout expects a positive number of seconds, got '" + text + "'");
      o.timeout_s = t;
    } else if (is(arg, "--bind-to")) {
      o.bind_to = value(arg, "--bind-to");
      if (o.bind_to != "core" && o.bind_to != "none")
        throw UsageError("--bind-to expects core or none, got '" + o.bind_to + "'");
    } else if (arg == "--tag-output") {
      o.tag_output = true;
    } else if (arg == "--no-tag") {
      o.tag_output = false;
    } else {
      throw UsageError("unknown option '" + arg + "'");
    }
  }
  for (; i < argc; ++i) o.command.emplace_back(argv[i]);
  if (o.command.empty()) throw UsageError("no PROGRAM to run");

  const long nhosts = static_cast<long>(o.hosts.size());
  if (!have_n) {
    if (nhosts == 0 || !have_rph)
      throw UsageError("-n N is required (or --hosts with --ranks-per-host)");
    if (nhosts * o.ranks_per_host > kMaxRanks) throw UsageError("too many ranks");
    o.nranks = static_cast<int>(nhosts * o.ranks_per_host);
  }
  if (nhosts == 0) {
    // Every rank shares this host; a smaller R would claim hosts that do not exist.
    if (have_rph && o.ranks_per_host < o.nranks)
      throw UsageError("--ranks-per-host " + std::to_string(o.ranks_per_host) + " < -n " +
                       std::to_string(o.nranks) +
                       " needs --hosts: without it every rank runs on this host");
    o.ranks_per_host = o.nranks;
  } else if (!have_rph) {
    o.ranks_per_host = static_cast<int>((o.nranks + nhosts - 1) / nhosts);
  } else if (static_cast<long>(o.ranks_per_host) * nhosts < o.nranks) {
    throw UsageError("-n " + std::to_string(o.nranks) + " does not fit " + std::to_string(nhosts) +
                     " hosts x " + std::to_string(o.ranks_per_host) + " ranks per host");
  }
  return o;
}

std::vector<Placement> place_ranks(const Options& o) {
  std::vector<Placement> out(static_cast<std::size_t>(o.nranks));
  const int per = o.ranks_per_host;
  for (int r = 0; r < o.nranks; ++r) {
    Placement& p = out[static_cast<std::size_t>(r)];
    p.rank = r;
    p.host_index = o.hosts.empty() ? -1 : r / per;
    p.local_rank = r % per;
    // The last host may hold fewer than R ranks.
    const int first = (r / per) * per;
    p.local_size = std::min(per, o.nranks - first);
  }
  return out;
}

}  // namespace colossus::run
