#include "colossus-sim/sweep.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "colossus-sim/output.hpp"
#include "colossus/error.hpp"

namespace colossus::sim_tool {

namespace {

// Calls whose count is one rank's part or one block of the SIZE-byte vector.
bool per_rank(const Options& o) {
  using plan::Collective;
  return !o.sendrecv && (o.coll == Collective::AllGather || o.coll == Collective::ReduceScatter ||
                         o.coll == Collective::AllToAll || o.coll == Collective::AllToAllv ||
                         o.coll == Collective::Gather || o.coll == Collective::Scatter);
}

// The SIZE a call stands for.
std::size_t bytes_of(const Options& o, const plan::CollArgs& a) {
  return a.count * dtype_size(a.dtype) * (per_rank(o) ? static_cast<std::size_t>(a.nranks) : 1);
}

}  // namespace

std::vector<SizePoint> size_points(const Options& o, int nranks,
                                   std::vector<std::size_t>* skipped) {
  std::vector<SizePoint> points;
  const std::size_t es = dtype_size(o.dtype);
  const std::size_t div = es * (per_rank(o) ? static_cast<std::size_t>(nranks) : 1);
  for (std::size_t bytes = o.min_bytes; bytes <= o.max_bytes;) {
    SizePoint p;
    p.args.coll = o.coll;
    p.args.dtype = o.dtype;
    p.args.nranks = nranks;
    p.args.count = bytes / div;
    p.bytes = p.args.count * div;
    if (p.args.count == 0) {
      skipped->push_back(bytes);
    } else {
      points.push_back(p);
    }
    if (bytes > o.max_bytes / o.factor) break;  // the next size would pass -e (or overflow)
    bytes *= o.factor;
  }
  return points;
}

double bus_factor(plan::Collective coll, int nranks) {
  const double n = nranks;
  switch (coll) {
    case plan::Collective::AllReduce: return 2 * (n - 1) / n;
    case plan::Collective::AllGather:
    case plan::Collective::ReduceScatter:
    case plan::Collective::AllToAll:
    case plan::Collective::AllToAllv:
    case plan::Collective::Gather:
    case plan::Collective::Scatter: return (n - 1) / n;
    case plan::Collective::Broadcast:
    case plan::Collective::Reduce:
    case plan::Collective::Send:
    case plan::Collective::Recv: return 1;
  }
  return 1;
}

std::string short_bytes(std::size_t bytes) {
  static const char* kUnits[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) bytes /= 1024, ++u;
  return std::to_string(bytes) + kUnits[u];
}

SimRun run_sim(const Target& target, const sim::Workload& work, bool fold, Progress& progress,
               const std::string& label, sim::TraceRecorder* trace) {
  SimRun run;
  sim::SimOptions so;
  so.fold = fold;
  so.trace = trace;
  so.progress = progress.start(label);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    run.result = sim::simulate(target.fabric(), work, so);
  } catch (const Error& e) {
    progress.clear();
    if (e.code() != ErrorCode::InvalidArgument) throw;
    run.refused = e.what();
  }
  run.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  progress.clear();
  return run;
}

std::string write_trace(const Options& o, const Target& target, const plan::CollArgs& args,
                        const tune::Candidate& c, Progress& progress) {
  sim::TraceRecorder rec;
  const std::string call = call_name(o) + " " + short_bytes(bytes_of(o, args));
  const SimRun run = run_sim(target, workload_of(o, target, args, c), o.fold, progress,
                             call + " " + algorithms::to_string(c.algo) + " (trace)", &rec);
  if (!run.refused.empty()) return "the engine refused the pick: " + run.refused;
  const std::string title =
      call + " " + std::string(to_string(args.dtype)) + " on " + std::to_string(args.nranks) +
      " ranks; " + algorithms::to_string(c.algo) + ", " + std::to_string(c.nchannels) +
      " ch, chunk " + std::to_string(c.chunk_bytes) + " B; fabric " + target.fabric().describe() +
      "; folding " + run.result.folding.describe();
  std::ofstream f(o.trace_file, std::ios::binary | std::ios::trunc);
  if (!f) {
    throw Error(ErrorCode::SystemError,
                "--trace: cannot open " + o.trace_file + ": " + std::strerror(errno));
  }
  sim::write_chrome_trace(f, rec, title);
  f.close();
  if (!f) throw Error(ErrorCode::SystemError, "--trace: writing " + o.trace_file + " failed");
  std::fprintf(stderr,
               "colossus-sim: trace of %s %s (%zu steps, %zu messages, %zu dropped) in %s\n",
               call.c_str(), algorithms::to_string(c.algo), rec.steps.size(), rec.flows.size(),
               rec.dropped, o.trace_file.c_str());
  return "";
}

namespace {

// "8/100000 rot": ranks held / all ranks and the symmetry group; '~' when
// folding is approximate (uneven blocks); "no" when every rank ran.
std::string folded_short(const sim::SimResult& r, int nranks) {
  if (!r.folding.active()) return "no";
  const bool rotation = r.folding.group == sim::Folding::Group::NodeRotation;
  return std::to_string(r.slots) + "/" + std::to_string(nranks) + (rotation ? " rot" : " xor") +
         (r.folding.exact ? "" : "~");
}

std::vector<Column> sweep_columns() {
  return {
      {"bytes", "size(B)", 12, false},
      {"count", "count", 12, false},
      {"type", "type", -8, false},
      {"pick", "*", 1, false},
      {"algorithm", "algorithm", -18, false},
      {"nchannels", "nch", 3, false},
      {"chunk_bytes", "chunk", 8, false},
      {"tuner_us", "tuner(us)", 12, false},
      {"time_us", "time(us)", 12, true},
      {"algbw_gbps", "algbw", 8, true},
      {"busbw_gbps", "busbw", 8, true},
      {"bound", "bound", -10, true},
      {"folded", "folded", -14, true},
      {"sim_wall_ms", "wall(ms)", 9, true},
      // CSV and JSON only.
      {"tuner_bound", "", 0, false, false},
      {"folding", "", 0, true, false},
      {"slots", "", 0, true, false},
      {"steps", "", 0, true, false},
      {"events", "", 0, true, false},
      {"nic_util", "", 0, true, false},
      {"intra_util", "", 0, true, false},
      {"memory_util", "", 0, true, false},
  };
}

std::vector<Cell> sweep_cells(const Options& o, const SizePoint& p, const tune::Candidate& c,
                              bool pick, const SimRun& run) {
  const sim::SimResult& r = run.result;
  const double algbw = static_cast<double>(p.bytes) / (r.time_us * 1e3);  // GB/s
  const bool tuned = modeled(c);
  return {Cell::integer(p.bytes),
          Cell::integer(p.args.count),
          Cell::text(std::string(to_string(p.args.dtype))),
          Cell::flag(pick, "*"),
          Cell::text(algorithms::to_string(c.algo)),
          Cell::integer(static_cast<std::uint64_t>(c.nchannels)),
          c.chunk_bytes > 0 ? Cell::integer(c.chunk_bytes) : Cell::none(),
          tuned ? Cell::number(c.predicted_us, 2) : Cell::none(),
          Cell::number(r.time_us, 2),
          r.time_us > 0 ? Cell::number(algbw, 2) : Cell::none(),
          r.time_us > 0
              ? Cell::number(algbw * bus_factor(o.sendrecv ? plan::Collective::Send : p.args.coll,
                                                p.args.nranks),
                             2)
              : Cell::none(),
          Cell::text(r.bound),
          Cell::text(folded_short(r, p.args.nranks)),
          Cell::number(run.wall_ms, 2),
          Cell::text(c.bottleneck),
          Cell::text(r.folding.describe()),
          Cell::integer(static_cast<std::uint64_t>(r.slots)),
          Cell::integer(r.steps),
          Cell::integer(r.events),
          Cell::number(r.nic_util, 3),
          Cell::number(r.intra_util, 3),
          Cell::number(r.memory_util, 3)};
}

}  // namespace

int run_sweep(const Options& o, const Target& target, Progress& progress) {
  check_workload(o, target.nranks());
  std::vector<std::size_t> skipped;
  const std::vector<SizePoint> points = size_points(o, target.nranks(), &skipped);
  if (points.empty()) {
    throw UsageError("no size from -b to -e holds one element per rank (" +
                     std::to_string(target.nranks()) + " ranks of " +
                     std::to_string(dtype_size(o.dtype)) + " B)");
  }
  if (!skipped.empty()) {
    std::fprintf(
        stderr, "colossus-sim: %zu size(s) from %zu B to %zu B hold no element per rank: skipped\n",
        skipped.size(), skipped.front(), skipped.back());
  }
  Tuners tuners(target, o.algo, o.coll, o.nchannels, o.chunk_bytes);
  Writer out(o.format, stdout, sweep_columns());
  out.comment("colossus-sim: " + call_name(o) + ", " + std::string(to_string(o.dtype)) +
              ", sum, root 0");
  for (const std::string& line : target.describe()) out.comment(line);
  for (const std::string& line : describe_workload(o, target.nranks(), points.front().args.count))
    out.comment(line);
  out.comment(tuned(o) ? "time: simulated; tuner: the tuner's own prediction for the same "
                         "parameters; * the tuner's pick; GB/s = 1e9 B/s"
                       : "time: simulated; the communicator runs this call with fixed "
                         "parameters (no tuner); GB/s = 1e9 B/s");

  std::string trace_problem;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const SizePoint& p = points[i];
    out.separator();
    if (!tuned(o)) {
      const tune::Candidate c = fixed_candidate(o);
      const SimRun run = run_sim(target, workload_of(o, target, p.args, c), o.fold, progress,
                                 call_name(o) + " " + short_bytes(p.bytes));
      out.row(sweep_cells(o, p, c, true, run), run.refused);
      if (i == 0 && !o.trace_file.empty())
        trace_problem = write_trace(o, target, p.args, c, progress);
      continue;
    }
    const tune::Choice choice = tuners.choose(p.args);
    out.comment("tuner: " + tune::summary(p.args, choice));
    const tune::Candidate& pick = choice.best;
    std::vector<algorithms::Algo> algos = tuners.algos();
    if (std::find(algos.begin(), algos.end(), pick.algo) == algos.end()) algos.push_back(pick.algo);
    for (const algorithms::Algo a : algos) {
      const bool is_pick = a == pick.algo;
      if (o.pick_only && !is_pick) continue;
      // The pick's own row runs exactly the pick (same channels and chunk).
      const tune::Candidate c = is_pick ? pick : tuners.best_of(a, p.args, choice);
      const std::string label =
          call_name(o) + " " + short_bytes(p.bytes) + " " + algorithms::to_string(a);
      const SimRun run =
          run_sim(target, workload_of(o, target, p.args, c), o.fold, progress, label);
      out.row(sweep_cells(o, p, c, is_pick, run), run.refused);
    }
    if (i == 0 && !o.trace_file.empty())
      trace_problem = write_trace(o, target, p.args, pick, progress);
  }
  out.finish();
  if (!trace_problem.empty()) {
    std::fprintf(stderr, "colossus-sim: no trace written: %s\n", trace_problem.c_str());
    return 1;
  }
  return 0;
}

}  // namespace colossus::sim_tool
