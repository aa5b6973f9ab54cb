#include "perf/driver.hpp"

#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "perf/check.hpp"
#include "perf/memory.hpp"
#include "perf/report.hpp"

namespace colossus::perf {

namespace {

using Combine = GroupProvider::Combine;

// A rank thread that fails cannot leave its peers waiting in a barrier or
// a collective: report and end the process.
[[noreturn]] void die(int rank, const char* what) {
  std::fputs("\n", stdout);  // end a half-printed table row
  std::fflush(stdout);
  std::fprintf(stderr, "rank %d: error: %s\n", rank, what);
  std::fflush(stderr);
  std::_Exit(1);
}

// What the threads of this process share.
struct Shared {
  Shared(int n, GroupProvider& g) : barrier(n), slots(n), group(g) {}
  std::barrier<> barrier;
  std::vector<double> slots;  // one per local rank
  double result = 0;
  GroupProvider& group;
  int64_t error_count = 0;  // rank-checks with a wrong element, written by local rank 0
};

class RankRunner {
 public:
  RankRunner(const Collective& coll, const PerfOptions& o, Shared& shared, PerfComm& comm,
             int local, Report* report, int device)
      : coll_(coll),
        o_(o),
        sh_(shared),
        comm_(comm),
        local_(local),
        rank_(comm.rank()),
        nranks_(comm.size()),
        report_(report),
        mem_(device >= 0 ? make_device_memory(device) : make_host_memory()) {}

  void run() {
    send_ = mem_->allocate(o_.max_bytes);
    recv_ = mem_->allocate(o_.max_bytes);
    if (mem_->device()) {  // host mirrors: fills and checks happen here
      mirror_send_ = make_host_memory();
      mirror_recv_ = make_host_memory();
      hsend_ = mirror_send_->allocate(o_.max_bytes);
      hrecv_ = mirror_recv_->allocate(o_.max_bytes);
    } else {
      hsend_ = send_;
      hrecv_ = recv_;
    }
    for (DataType type : o_.types) {
      for (ReduceOp op : coll_.uses_op ? o_.ops : std::vector<ReduceOp>{ReduceOp::Sum}) {
        if (!coll_.uses_root) {
          time_test(type, op, -1);
        } else if (o_.root >= 0) {
          time_test(type, op, o_.root);
        } else {
          for (int root = 0; root < nranks_; ++root) time_test(type, op, root);
        }
      }
    }
  }

 private:
  // Local threads first, then across processes; every rank gets the result.
  double combine(double v, Combine how) {
    sh_.slots[local_] = v;
    sh_.barrier.arrive_and_wait();
    if (local_ == 0) {
      double acc = sh_.slots[0];
      for (std::size_t i = 1; i < sh_.slots.size(); ++i) {
        double x = sh_.slots[i];
        if (how == Combine::Sum) acc += x;
        if (how == Combine::Min) acc = std::min(acc, x);
        if (how == Combine::Max) acc = std::max(acc, x);
      }
      sh_.result = sh_.group.combine(acc, how);
    }
    sh_.barrier.arrive_and_wait();
    return sh_.result;
  }

  double combine_time(double seconds) {
    switch (o_.average) {
      case Average::Rank0: return combine(seconds, Combine::First);
      case Average::Mean: return combine(seconds, Combine::Sum) / nranks_;
      case Average::Min: return combine(seconds, Combine::Min);
      case Average::Max: return combine(seconds, Combine::Max);
    }
    return seconds;
  }

  // Pointers of call `iter`: like nccl-tests, successive iterations move
  // through the whole allocation so that they do not reuse cached data.
  CallBuffers buffers(const Counts& c, bool in_place, int iter) const {
    const std::size_t shift = rotation_offset(std::max(c.send, c.recv) * elem_, o_.max_bytes, iter);
    unsigned char* send = send_ + shift;
    unsigned char* recv = recv_ + shift;
    if (!in_place) return {send, recv, recv, c.recv * elem_};
    auto r = static_cast<std::size_t>(rank_);
    std::size_t extent =
        std::max(c.send_inplace_offset * r + c.send, c.recv_inplace_offset * r + c.recv);
    return {recv + c.send_inplace_offset * r * elem_, recv + c.recv_inplace_offset * r * elem_,
            recv, extent * elem_};
  }

  // The host mirror of a pointer into the (device) buffers.
  unsigned char* mirror(const unsigned char* p) const {
    if (p >= send_ && p < send_ + o_.max_bytes) return hsend_ + (p - send_);
    return hrecv_ + (p - recv_);
  }
  CallBuffers mirrored(const CallBuffers& b) const {
    return {mirror(b.send), mirror(b.recv), mirror(b.scratch), b.scratch_bytes};
  }

  // Fills the call's input and poisons its output, in the mirror, then uploads.
  void prepare(RankCheck& check, const CallBuffers& b, const Counts& c, uint64_t seed) {
    check.prepare(mirrored(b), c, seed);
    if (!mem_->device()) return;
    mem_->upload(const_cast<unsigned char*>(b.send), mirror(b.send), c.send * elem_);
    mem_->upload(b.scratch, mirror(b.scratch), b.scratch_bytes);
  }

  void launch(const CallBuffers& b, const Counts& c) {
    coll_.run(comm_, b.send, b.recv, c.param, type_, op_, root_, mem_->stream());
  }

  void call(const Counts& c, bool in_place, int iter) {
    launch(buffers(c, in_place, iter), c);
    if (o_.blocking) {
      mem_->synchronize();
      sh_.barrier.arrive_and_wait();
    }
  }

  // The timed calls: enqueued back to back (or captured once into a graph
  // and replayed, -G), then waited for. Returns seconds per call.
  double timed_calls(const Counts& c, bool in_place) {
    const int calls = o_.iters * o_.agg_iters;
    if (o_.graph_launches > 0) {
      mem_->begin_capture();
      for (int i = 0; i < calls; ++i) call(c, in_place, i);
      mem_->end_capture();
    }
    sh_.barrier.arrive_and_wait();  // everyone starts the clock together
    auto t0 = std::chrono::steady_clock::now();
    if (o_.graph_launches > 0) {
      for (int g = 0; g < o_.graph_launches; ++g) mem_->launch_graph();
    } else {
      for (int i = 0; i < calls; ++i) call(c, in_place, i);
    }
    mem_->synchronize();
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - t0;
    return elapsed.count() / (double(calls) * std::max(1, o_.graph_launches));
  }

  void time_test(DataType type, ReduceOp op, int root) {
    type_ = type;
    op_ = op;
    root_ = root;
    elem_ = dtype_size(type);
    sh_.barrier.arrive_and_wait();
    // Warm up at the largest, then the smallest size, out of place.
    for (std::size_t bytes : {o_.max_bytes, o_.min_bytes}) {
      Counts c = coll_.counts(bytes / elem_, nranks_);
      for (int i = 0; i < o_.warmup_iters; ++i) call(c, false, i);
    }
    mem_->synchronize();
    for (std::size_t bytes : size_steps(o_)) {
      Counts c = coll_.counts(bytes / elem_, nranks_);
      if (report_) {
        report_->row_start(std::max(c.send, c.recv) * elem_, c.param,
                           std::string(to_string(type)).c_str(),
                           coll_.uses_op ? std::string(to_string(op)).c_str() : "none", root);
      }
      bench(c, false);
      if (coll_.has_in_place) {
        bench(c, true);
      } else if (report_) {
        report_->not_measured();
      }
      if (report_) report_->row_end();
    }
  }

  void bench(const Counts& c, bool in_place) {
    RankCheck check(coll_, type_, op_, rank_, nranks_, root_ < 0 ? 0 : root_);
    // Timed calls run on checkable data, so no NaN or garbage is timed.
    // The barrier: no peer still reads this rank's buffers in a warm-up call.
    if (o_.check) {
      sh_.barrier.arrive_and_wait();
      prepare(check, buffers(c, in_place, 0), c, 99);
    }
    call(c, in_place, 0);
    mem_->synchronize();
    double seconds = combine_time(timed_calls(c, in_place));

    auto bytes = static_cast<double>(std::max(c.send, c.recv) * elem_);
    double algbw = seconds > 0 ? bytes / 1e9 / seconds : 0;
    double busbw = algbw * coll_.busbw_factor(nranks_);

    int64_t wrong = 0;
    for (int rep = 0; rep < o_.check; ++rep) {
      CallBuffers b = buffers(c, in_place, 0);
      prepare(check, b, c, ++seed_);
      sh_.barrier.arrive_and_wait();  // no peer still reads the previous data
      launch(b, c);
      mem_->synchronize();
      if (mem_->device()) mem_->download(mirror(b.scratch), b.scratch, b.scratch_bytes);
      int64_t mine = check.verify(mirrored(b), c, in_place);
      auto failed_ranks = static_cast<int64_t>(combine(mine ? 1 : 0, Combine::Sum));
      if (local_ == 0) sh_.error_count += failed_ranks;
      wrong = static_cast<int64_t>(combine(static_cast<double>(mine), Combine::Sum));
      if (wrong) break;
    }
    if (report_) report_->result(seconds, algbw, busbw, o_.check ? wrong : -1);
  }

  const Collective& coll_;
  const PerfOptions& o_;
  Shared& sh_;
  PerfComm& comm_;
  int local_;
  int rank_;
  int nranks_;
  Report* report_;  // non-null on the printing thread only
  std::unique_ptr<RankMemory> mem_;
  std::unique_ptr<RankMemory> mirror_send_, mirror_recv_;  // device runs: host mirrors
  unsigned char* send_ = nullptr;
  unsigned char* recv_ = nullptr;
  unsigned char* hsend_ = nullptr;  // == send_ for host buffers
  unsigned char* hrecv_ = nullptr;
  DataType type_ = DataType::Float32;
  ReduceOp op_ = ReduceOp::Sum;
  int root_ = -1;
  std::size_t elem_ = 4;
  uint64_t seed_ = 0;
};

// Each rank holds a send and a receive buffer of maxBytes (expected values
// are periodic tables, no third buffer). Like nccl-tests, shrink maxBytes
// rather than let the run fail on memory. Host memory is shared with
// everything else on the machine, so use at most 3/4 of what is free now.
std::size_t memory_limited_max_bytes(std::size_t max_bytes, int local_ranks) {
  long pages = sysconf(_SC_AVPHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return max_bytes;
  double limit =
      0.75 * static_cast<double>(pages) * static_cast<double>(page) / (2.0 * local_ranks);
  return static_cast<double>(max_bytes) > limit ? static_cast<std::size_t>(limit) / 4096 * 4096
                                                : max_bytes;
}

}  // namespace

int run_benchmark(const Collective& coll, const PerfOptions& options, GroupProvider& group) {
  // Refused before any GPU or communicator is set up: every rank refuses alike.
  if (options.device_buffers && backend_no_device_buffers() != nullptr) {
    std::fprintf(stderr, "error: --buffers device: %s\n", backend_no_device_buffers());
    return 1;
  }
  if (options.device_buffers && !coll.device_form) {
    std::fprintf(stderr,
                 "error: --buffers device: colossus has no %s on device buffers yet (the "
                 "host-buffer call exists: run without --buffers device)\n",
                 std::string(coll.name).c_str());
    return 1;
  }
  PerfOptions o = options;
  std::size_t max_bytes = memory_limited_max_bytes(o.max_bytes, group.local_ranks());
  bool reduced = max_bytes < o.max_bytes;
  o.max_bytes = max_bytes;

  // Connect first: a launched group learns its size and rank only here.
  Options lib_options;
  lib_options.timeout_s = o.timeout_s;
  int device = -1;
  std::string memory = "[cpu] host memory";
  if (o.device_buffers) {
    try {
      device = process_device();
      memory = make_device_memory(device)->describe();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    lib_options.cuda_device = device;
  }
  CommList comms;
  try {
    comms = group.connect(lib_options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: making the communicators: %s\n", e.what());
    return 1;
  }
  int world = group.world_size();
  if (coll.uses_root && o.root >= world) {
    if (group.prints()) {
      std::fprintf(stderr, "invalid root %d: there are %d ranks (-r -1 runs every root)\n", o.root,
                   world);
    }
    return 1;
  }
  std::vector<std::string> lines;
  lines.reserve(group.local_ranks());
  for (int i = 0; i < group.local_ranks(); ++i) {
    lines.push_back(Report::device_line(group.first_rank() + i, group.group_color(),
                                        device >= 0 ? device : i, memory));
  }
  lines = group.gather_lines(lines);
  Report report(o.report_cputime != 0);
  if (group.prints()) {
    std::printf("# %s through %s\n", std::string(coll.name).c_str(), backend_name());
    report.preamble(options, lines);
    if (reduced) std::printf("# Reducing maxBytes to %zu due to memory limitation\n", o.max_bytes);
    report.table_header(coll.has_in_place ? nullptr : std::string(coll.name).c_str());
    std::fflush(stdout);
  }

  Shared shared(group.local_ranks(), group);
  std::vector<std::thread> threads;
  for (int i = 0; i < group.local_ranks(); ++i) {
    Report* printer = (i == 0 && group.prints()) ? &report : nullptr;
    threads.emplace_back([&, i, printer] {
      try {
        RankRunner(coll, o, shared, *comms[i], i, printer, device).run();
      } catch (const std::exception& e) {
        die(group.first_rank() + i, e.what());
      }
    });
  }
  for (auto& t : threads) t.join();

  double errors = group.combine(static_cast<double>(shared.error_count), Combine::Sum);
  for (auto& c : comms) c->destroy();
  bool ok = errors == 0;
  if (group.prints()) ok = report.summary(static_cast<int64_t>(errors)) && ok;
  return ok ? 0 : 1;
}

int run_tool(const Collective& coll, int argc, char** argv) {
  // Line-buffered, so progress shows row by row through a pipe too.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int exit_code = 0;
  auto options = parse_options(argc, argv, &exit_code);
  if (!options) return exit_code;
  try {
    auto group = make_group(*options);
    return run_benchmark(coll, *options, *group);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace colossus::perf
