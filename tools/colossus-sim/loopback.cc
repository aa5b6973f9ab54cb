#include "colossus-sim/loopback.hpp"

#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "colossus-sim/output.hpp"
#include "colossus-sim/reference.hpp"
#include "colossus-sim/sweep.hpp"
#include "colossus/colossus.hpp"

namespace colossus::sim_tool {

namespace {

struct Measured {
  double us_per_call = 0;
  int iters = 0;
  std::size_t bad = 0;    // output elements that differ from the reference
  std::string first_bad;  // the first of them, said in full
};

constexpr unsigned char kSentinel = 0xA5;  // receive buffers before the call

// One loopback group running the pick: a verified call, then `iters` timed ones.
Measured run_group(const sim_tool::Options& o, const plan::CollArgs& a, const tune::Candidate& c,
                   const InputRule& rule, const Reference& ref, int iters) {
  // Channels, chunk and algorithm fixed: the communicator's tuner is left
  // exactly this one candidate, so the group runs the Plan simulated.
  colossus::Options opts;
  opts.nchannels = c.nchannels;
  opts.chunk_bytes = c.chunk_bytes;
  opts.algorithm = algorithms::to_string(c.algo);
  opts.topology = o.topo;
  std::vector<Communicator> comms = loopback_group(a.nranks, opts);
  const std::size_t es = dtype_size(a.dtype), scount = plan::send_count(a),
                    rcount = plan::recv_count(a);
  struct PerRank {
    std::chrono::steady_clock::time_point start, end;
    std::size_t bad = 0;
    std::string first_bad, error;
    ErrorCode code = ErrorCode::Success;
  };
  std::vector<PerRank> per(static_cast<std::size_t>(a.nranks));
  std::barrier sync(a.nranks);
  auto body = [&](int r) {
    PerRank& me = per[static_cast<std::size_t>(r)];
    try {
      std::vector<unsigned char> send(scount * es), recv(rcount * es, kSentinel);
      for (std::size_t i = 0; i < scount; ++i)
        store_element(a.dtype, send.data(), i, rule.value(r, i));
      Communicator& comm = comms[static_cast<std::size_t>(r)];
      auto call = [&] {
        switch (a.coll) {
          case plan::Collective::AllReduce:
            return comm.allreduce(send.data(), recv.data(), a.count, a.dtype, a.op);
          case plan::Collective::AllGather:
            return comm.allgather(send.data(), recv.data(), a.count, a.dtype);
          case plan::Collective::ReduceScatter:
            return comm.reduce_scatter(send.data(), recv.data(), a.count, a.dtype, a.op);
          case plan::Collective::Broadcast:
            return comm.broadcast(send.data(), recv.data(), a.count, a.dtype, a.root);
          case plan::Collective::Reduce:
            return comm.reduce(send.data(), recv.data(), a.count, a.dtype, a.op, a.root);
          default:  // parse_options refuses the others with --loopback
            throw Error(ErrorCode::InvalidArgument,
                        std::string("--loopback does not run ") + plan::to_string(a.coll));
        }
      };
      sync.arrive_and_wait();
      call();
      auto mismatch = [&](const std::string& what) {
        if (me.bad++ == 0) me.first_bad = "rank " + std::to_string(r) + ": " + what;
      };
      if (a.coll == plan::Collective::Reduce && r != a.root) {
        // NCCL's contract: a non-root rank's receive buffer is left alone.
        const auto it =
            std::find_if(recv.begin(), recv.end(), [](unsigned char b) { return b != kSentinel; });
        if (it != recv.end())
          mismatch("reduce wrote byte " + std::to_string(it - recv.begin()) +
                   " of a non-root rank's receive buffer");
      } else {
        for (std::size_t j = 0; j < rcount; ++j) {
          const double got = load_element(a.dtype, recv.data(), j), want = ref.at(r, j);
          if (got != want) {
            mismatch("recv[" + std::to_string(j) + "] = " + std::to_string(got) + ", expected " +
                     std::to_string(want));
          }
        }
      }
      sync.arrive_and_wait();
      me.start = std::chrono::steady_clock::now();
      for (int k = 0; k < iters; ++k) call();
      me.end = std::chrono::steady_clock::now();
    } catch (const std::exception& e) {
      me.error = e.what();
      if (const auto* ce = dynamic_cast<const Error*>(&e)) me.code = ce->code();
      sync.arrive_and_drop();  // the other ranks' later barriers no longer wait for this one
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(per.size());
  for (int r = 0; r < a.nranks; ++r) threads.emplace_back(body, r);
  for (std::thread& t : threads) t.join();

  Measured m;
  m.iters = iters;
  auto first = per.front().start, last = per.front().end;
  for (std::size_t r = 0; r < per.size(); ++r) {
    if (!per[r].error.empty()) {
      throw Error(per[r].code == ErrorCode::Success ? ErrorCode::InternalError : per[r].code,
                  "loopback rank " + std::to_string(r) + ": " + per[r].error);
    }
    if (per[r].bad && m.bad == 0) m.first_bad = per[r].first_bad;
    m.bad += per[r].bad;
    first = std::min(first, per[r].start);
    last = std::max(last, per[r].end);
  }
  m.us_per_call = std::chrono::duration<double, std::micro>(last - first).count() / iters;
  return m;
}

std::vector<Column> loopback_columns() {
  return {{"bytes", "size(B)", 12, false},
          {"count", "count", 12, false},
          {"type", "type", -8, false},
          {"algorithm", "algorithm", -18, false},
          {"nchannels", "nch", 3, false},
          {"chunk_bytes", "chunk", 8, false},
          {"tuner_us", "tuner(us)", 12, false},
          {"predicted_us", "target(us)", 12, false},
          {"predicted_busbw_gbps", "busbw", 8, false},
          {"measured_us", "here(us)", 12, false},
          {"measured_busbw_gbps", "busbw", 8, false},
          {"iterations", "iters", 5, false},
          {"check", "check", -5, false},
          {"sim_refused", "", 0, false, false},
          {"bound", "", 0, false, false}};
}

}  // namespace

int run_loopback(const Options& o, const Target& target, Progress& progress) {
  const int n = target.nranks();
  std::vector<std::size_t> skipped;
  const std::vector<SizePoint> points = size_points(o, n, &skipped);
  if (points.empty()) throw UsageError("no size from -b to -e holds one element per rank");
  const std::size_t es = dtype_size(o.dtype);
  // Memory: every rank's two buffers and the reference, at the largest size.
  const plan::CollArgs& big = points.back().args;
  const std::size_t buffer = std::max(plan::send_count(big), plan::recv_count(big)) * es;
  if (buffer > kMaxLoopbackBuffer) {
    throw UsageError("--loopback: " + short_bytes(points.back().bytes) + " needs " +
                     std::to_string(buffer >> 20) + " MiB per rank buffer; at most " +
                     std::to_string(kMaxLoopbackBuffer >> 20) + " MiB (lower -e)");
  }
  const double need =
      double(n) * double(plan::send_count(big) + plan::recv_count(big)) * double(es) +
      double(plan::send_count(big)) * 8;
  const double have = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
  if (have > 0 && need > 0.5 * have) {
    throw UsageError("--loopback: " + std::to_string(n) + " ranks at " +
                     short_bytes(points.back().bytes) + " need " +
                     std::to_string(static_cast<long>(need / (1 << 20))) +
                     " MiB, over half of this machine's memory (lower -e or -n)");
  }
  if (!skipped.empty()) {
    std::fprintf(
        stderr, "colossus-sim: %zu size(s) from %zu B to %zu B hold no element per rank: skipped\n",
        skipped.size(), skipped.front(), skipped.back());
  }

  Tuners tuners(target, o.algo, o.coll, o.nchannels, o.chunk_bytes);
  Writer out(o.format, stdout, loopback_columns());
  out.comment(std::string("colossus-sim --loopback: ") + plan::to_string(o.coll) + ", " +
              std::string(to_string(o.dtype)) + ", sum, root 0; " + std::to_string(n) +
              " ranks as threads on this machine (" +
              std::to_string(std::thread::hardware_concurrency()) + " cores)");
  for (const std::string& line : target.describe()) out.comment(line);
  out.comment(
      "each row runs the tuner's pick for the target; target: simulated there; here: "
      "measured on this machine, mean of iters calls after a checked one");
  std::string trace_problem;
  for (std::size_t k = 0; k < points.size(); ++k) {
    const plan::CollArgs& a = points[k].args;
    const std::size_t bytes = points[k].bytes;
    const tune::Candidate pick = tuners.pick(a);
    const std::string label = std::string(plan::to_string(a.coll)) + " " + short_bytes(bytes) +
                              " " + algorithms::to_string(pick.algo);
    const SimRun sim = run_sim(target, workload_of(o, target, a, pick), o.fold, progress, label);
    const InputRule rule(a.dtype, n, reduces(a.coll));
    const Reference ref(a, rule);
    const int iters = static_cast<int>(std::clamp<std::size_t>((4u << 20) / bytes, 1, 20));
    const Measured m = run_group(o, a, pick, rule, ref, iters);
    const double bus = bus_factor(a.coll, n);
    const double pred_bw = sim.refused.empty() ? double(bytes) / (sim.result.time_us * 1e3) : NAN;
    const double here_bw = double(bytes) / (m.us_per_call * 1e3);
    out.row(
        {Cell::integer(bytes), Cell::integer(a.count), Cell::text(std::string(to_string(a.dtype))),
         Cell::text(algorithms::to_string(pick.algo)),
         Cell::integer(static_cast<std::uint64_t>(pick.nchannels)), Cell::integer(pick.chunk_bytes),
         modeled(pick) ? Cell::number(pick.predicted_us, 2) : Cell::none(),
         sim.refused.empty() ? Cell::number(sim.result.time_us, 2) : Cell::none(),
         Cell::number(pred_bw * bus, 2), Cell::number(m.us_per_call, 2),
         Cell::number(here_bw * bus, 3), Cell::integer(static_cast<std::uint64_t>(iters)),
         Cell::text(m.bad ? "FAIL" : "ok"),
         sim.refused.empty() ? Cell::none() : Cell::text(sim.refused),
         sim.refused.empty() ? Cell::text(sim.result.bound) : Cell::none()});
    if (!sim.refused.empty()) {
      std::fprintf(stderr, "colossus-sim: %s: the simulator refused it: %s\n", label.c_str(),
                   sim.refused.c_str());
    }
    if (m.bad) {
      out.finish();
      std::fprintf(stderr,
                   "colossus-sim: %s, %d ch, chunk %zu B: %zu output element(s) differ from "
                   "the float64 reference; first: %s\n",
                   label.c_str(), pick.nchannels, pick.chunk_bytes, m.bad, m.first_bad.c_str());
      return 1;
    }
    if (k == 0 && !o.trace_file.empty()) trace_problem = write_trace(o, target, a, pick, progress);
  }
  out.finish();
  if (!trace_problem.empty()) {
    std::fprintf(stderr, "colossus-sim: no trace written: %s\n", trace_problem.c_str());
    return 1;
  }
  return 0;
}

}  // namespace colossus::sim_tool
