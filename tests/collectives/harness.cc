#include "collectives/harness.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "collectives/reference.hpp"

namespace colossus::test {

using plan::Collective;

bool has_in_place(Collective c) {
  return c != Collective::AllToAll && c != Collective::AllToAllv && c != Collective::Send &&
         c != Collective::Recv;
}

std::string Case::describe() const {
  std::ostringstream os;
  if (coll == Collective::Send) {
    os << "send/recv to r+1, r+" << root;
  } else {
    os << plan::to_string(coll);
  }
  os << " " << to_string(dtype);
  if (plan::is_reducing(coll)) os << " " << to_string(op);
  os << " count " << count;
  if (plan::is_rooted(coll)) os << " root " << root;
  if (coll == Collective::AllToAllv) os << " seed " << seed();
  os << (in_place ? " in-place" : " out-of-place") << (misaligned ? " misaligned" : "");
  return os.str();
}

uint64_t Case::seed() const {
  return count * 1000003 + static_cast<uint64_t>(dtype) * 101 + static_cast<uint64_t>(root);
}

Group::Group(int n, const Options& options) : n_(n), comms_(loopback_group(n, options)), pool_(n) {}

Group::Group(std::vector<Communicator> comms)
    : n_(static_cast<int>(comms.size())), comms_(std::move(comms)), pool_(n_) {}

namespace {

constexpr unsigned char kSentinel = 0xA5;

// An owned byte buffer whose data() is aligned, or one element past aligned.
struct Buffer {
  Buffer(std::size_t bytes, std::size_t shift) : storage(bytes + shift + 64, kSentinel) {
    auto p = reinterpret_cast<std::uintptr_t>(storage.data());
    data = storage.data() + ((64 - p % 64) % 64) + shift;
  }
  std::vector<unsigned char> storage;
  unsigned char* data;
};

// Elements of rank r's send and recv buffers (the extent of its blocks).
struct Extents {
  std::size_t send = 0, recv = 0;
};

int mod(int a, int n) { return ((a % n) + n) % n; }

// The send/recv pattern's peers of rank r: to[j] and from[j] for message j.
struct Peers {
  int to[2], from[2];
};
Peers peers_of(const Case& c, int n, int r) {
  return {{mod(r + 1, n), mod(r + c.root, n)}, {mod(r - 1, n), mod(r - c.root, n)}};
}

Extents extents_of(const Case& c, int n, int r, const VectorLayout* v) {
  const auto un = static_cast<std::size_t>(n);
  const bool root = r == c.root;
  switch (c.coll) {
    case Collective::AllToAll: return {c.count * un, c.count * un};
    case Collective::AllToAllv:
      return {v->send_extent[static_cast<std::size_t>(r)],
              v->recv_extent[static_cast<std::size_t>(r)]};
    case Collective::Gather: return {c.count, c.count * un};  // non-roots: checked untouched
    case Collective::Scatter: return {root ? c.count * un : 0, c.count};
    case Collective::Send: {
      const Peers p = peers_of(c, n, r);
      return {p2p_count(c.count, r, 0) + p2p_count(c.count, r, 1),
              p2p_count(c.count, p.from[0], 0) + p2p_count(c.count, p.from[1], 1)};
    }
    default: {
      plan::CollArgs args;
      args.coll = c.coll;
      args.count = c.count;
      args.nranks = n;
      return {plan::send_count(args), plan::recv_count(args)};
    }
  }
}

// A run of an exchange's recv buffer: `count` elements at `at` that must
// equal inputs[from][from_at...]. What no run covers must stay unwritten.
struct Run {
  std::size_t at, count;
  int from;
  std::size_t from_at;
};

std::vector<Run> runs_of(const Case& c, int n, int r, const VectorLayout* v) {
  std::vector<Run> runs;
  const auto ur = static_cast<std::size_t>(r);
  for (int q = 0; q < n; ++q) {
    const auto uq = static_cast<std::size_t>(q);
    switch (c.coll) {
      case Collective::AllToAll: runs.push_back({uq * c.count, c.count, q, ur * c.count}); break;
      case Collective::AllToAllv:
        runs.push_back({v->recv_displs[ur][uq], v->recv_count(r, q), q, v->send_displs[uq][ur]});
        break;
      case Collective::Gather:
        if (r == c.root) runs.push_back({uq * c.count, c.count, q, 0});
        break;
      default: break;
    }
  }
  if (c.coll == Collective::Scatter) runs.push_back({0, c.count, c.root, ur * c.count});
  if (c.coll == Collective::Send) {
    const Peers p = peers_of(c, n, r);
    const std::size_t first = p2p_count(c.count, p.from[0], 0);
    runs.push_back({0, first, p.from[0], 0});
    runs.push_back(
        {first, p2p_count(c.count, p.from[1], 1), p.from[1], p2p_count(c.count, p.from[1], 0)});
  }
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.at < b.at; });
  return runs;
}

std::optional<VectorLayout> layout_of(const Case& c, int n) {
  if (c.coll != Collective::AllToAllv) return std::nullopt;
  return vector_layout(c.count, n, c.seed());
}

// The send/recv pattern inside one group; odd ranks post their receives first.
void send_recv(const Case& c, int n, int r, Communicator& comm, const unsigned char* sp,
               unsigned char* rp) {
  const Peers p = peers_of(c, n, r);
  const std::size_t es = dtype_size(c.dtype);
  const std::size_t out0 = p2p_count(c.count, r, 0), in0 = p2p_count(c.count, p.from[0], 0);
  auto sends = [&] {
    comm.send(sp, out0, c.dtype, p.to[0]);
    comm.send(sp + out0 * es, p2p_count(c.count, r, 1), c.dtype, p.to[1]);
  };
  auto recvs = [&] {
    comm.recv(rp, in0, c.dtype, p.from[0]);
    comm.recv(rp + in0 * es, p2p_count(c.count, p.from[1], 1), c.dtype, p.from[1]);
  };
  group_start();
  if (r % 2 == 0) {
    sends();
    recvs();
  } else {
    recvs();
    sends();
  }
  group_end();
}

void call(const Case& c, int n, int r, Communicator& comm, const VectorLayout* v,
          const unsigned char* sp, unsigned char* rp) {
  const auto ur = static_cast<std::size_t>(r);
  switch (c.coll) {
    case Collective::AllReduce: comm.allreduce(sp, rp, c.count, c.dtype, c.op); break;
    case Collective::AllGather: comm.allgather(sp, rp, c.count, c.dtype); break;
    case Collective::ReduceScatter: comm.reduce_scatter(sp, rp, c.count, c.dtype, c.op); break;
    case Collective::Broadcast: comm.broadcast(sp, rp, c.count, c.dtype, c.root); break;
    case Collective::Reduce: comm.reduce(sp, rp, c.count, c.dtype, c.op, c.root); break;
    case Collective::AllToAll: comm.alltoall(sp, rp, c.count, c.dtype); break;
    case Collective::AllToAllv: {
      std::vector<std::size_t> recv_counts(static_cast<std::size_t>(n));
      for (int q = 0; q < n; ++q) recv_counts[static_cast<std::size_t>(q)] = v->recv_count(r, q);
      comm.alltoallv(sp, v->counts[ur].data(), v->send_displs[ur].data(), rp, recv_counts.data(),
                     v->recv_displs[ur].data(), c.dtype);
      break;
    }
    case Collective::Gather: comm.gather(sp, rp, c.count, c.dtype, c.root); break;
    case Collective::Scatter: comm.scatter(sp, rp, c.count, c.dtype, c.root); break;
    case Collective::Send: send_recv(c, n, r, comm, sp, rp); break;
    case Collective::Recv: throw std::invalid_argument("a Case is never Recv (Send: the pattern)");
  }
}

}  // namespace

Inputs make_inputs(const Case& c, int n) {
  const std::optional<VectorLayout> v = layout_of(c, n);
  const std::size_t es = dtype_size(c.dtype);
  Inputs inputs(static_cast<std::size_t>(n));
  std::vector<unsigned char> tmp(es);
  for (int r = 0; r < n; ++r) {
    const std::size_t scount = extents_of(c, n, r, v ? &*v : nullptr).send;
    auto& in = inputs[static_cast<std::size_t>(r)];
    in.reserve(scount);
    for (std::size_t i = 0; i < scount; ++i) {
      store(c.dtype, tmp.data(), 0,
            is_exchange(c.coll) ? tag_value(c.dtype, r, i) : input_value(c.dtype, c.op, r, i));
      in.push_back(load(c.dtype, tmp.data(), 0));
    }
  }
  return inputs;
}

void run_rank(const Case& c, int n, int r, Communicator& comm, const Inputs& inputs,
              const std::function<void(const std::string&)>& report) {
  if (c.in_place && !has_in_place(c.coll)) {
    throw std::invalid_argument(c.describe() + ": the API has no in-place form");
  }
  const std::optional<VectorLayout> layout = layout_of(c, n);
  const VectorLayout* v = layout ? &*layout : nullptr;
  const Extents ext = extents_of(c, n, r, v);
  const std::size_t es = dtype_size(c.dtype), scount = ext.send, rcount = ext.recv;
  const std::size_t block = c.count;
  const auto ur = static_cast<std::size_t>(r);
  const bool root = r == c.root;
  const std::size_t shift = c.misaligned ? es : 0;
  Buffer recv(rcount * es, shift), send(scount * es, shift);
  // In place: the input sits where the API's convention puts it; gather's
  // and scatter's other ranks pass null for the buffer they do not use.
  unsigned char* sp = send.data;
  unsigned char* rp = recv.data;
  if (c.in_place) {
    const bool gathers = c.coll == Collective::AllGather || c.coll == Collective::Gather;
    const bool scatters = c.coll == Collective::ReduceScatter || c.coll == Collective::Scatter;
    if (c.coll == Collective::Gather && !root)
      rp = nullptr;
    else if (c.coll == Collective::Scatter && !root)
      sp = nullptr;
    else if (gathers)
      sp = rp + ur * block * es;
    else if (scatters)
      rp = sp + ur * block * es;
    else
      sp = rp;
  }
  for (std::size_t i = 0; i < scount; ++i) store(c.dtype, sp, i, inputs[ur][i]);
  call(c, n, r, comm, v, sp, rp);

  int bad = 0;
  auto check = [&](std::size_t i, double got, Expected e) {
    if (std::fabs(got - e.value) <= e.tolerance) return;
    if (bad++ < 3) {
      std::ostringstream os;
      os << "recv[" << i << "] = " << got << ", expected " << e.value << " +- " << e.tolerance;
      report(os.str());
    }
  };
  auto untouched = [&](std::size_t from, std::size_t to, const char* what) {
    for (std::size_t b = from * es; b < to * es; ++b) {
      if (rp[b] != kSentinel) {
        report(std::string(what) + ": recv element " + std::to_string(b / es) + " was written");
        return;
      }
    }
  };
  if (is_exchange(c.coll)) {
    std::size_t covered = 0;  // runs are sorted; empty ones may lie anywhere
    for (const Run& run : runs_of(c, n, r, v)) {
      if (rp && run.at > covered) untouched(covered, run.at, "a gap between blocks");
      const auto& src = inputs[static_cast<std::size_t>(run.from)];
      for (std::size_t i = 0; i < run.count; ++i) {
        check(run.at + i, load(c.dtype, rp, run.at + i), {src[run.from_at + i], 0});
      }
      covered = std::max(covered, run.at + run.count);
    }
    if (rp) untouched(covered, rcount, "past the last block");
  } else {
    std::vector<double> column(static_cast<std::size_t>(n));
    auto reduced = [&](std::size_t input_index) {
      for (std::size_t q = 0; q < column.size(); ++q) column[q] = inputs[q][input_index];
      return reduce_reference(c.dtype, c.op, column.data(), n);
    };
    if (c.coll != Collective::Reduce || root) {
      for (std::size_t i = 0; i < rcount; ++i) {
        const double got = load(c.dtype, rp, i);
        switch (c.coll) {
          case Collective::ReduceScatter: check(i, got, reduced(ur * block + i)); break;
          case Collective::AllGather: check(i, got, {inputs[i / block][i % block], 0}); break;
          case Collective::Broadcast:
            check(i, got, {inputs[static_cast<std::size_t>(c.root)][i], 0});
            break;
          default: check(i, got, reduced(i)); break;  // allreduce, reduce
        }
      }
    } else if (!c.in_place) {
      untouched(0, rcount, "reduce on a non-root rank");
    }
  }
  if (!c.in_place) {  // inputs are read-only
    for (std::size_t i = 0; i < scount; ++i) {
      if (load(c.dtype, sp, i) != inputs[ur][i]) {
        report("send buffer modified at element " + std::to_string(i));
        break;
      }
    }
  }
}

std::vector<std::string> Group::run(const Case& c) {
  const Inputs inputs = make_inputs(c, n_);
  std::mutex mu;
  std::vector<std::string> problems;
  auto errors = pool_.run([&](int r) {
    run_rank(c, n_, r, comms_[static_cast<std::size_t>(r)], inputs, [&](const std::string& what) {
      std::lock_guard<std::mutex> lock(mu);
      problems.push_back(c.describe() + " n=" + std::to_string(n_) + " rank " + std::to_string(r) +
                         ": " + what);
    });
  });
  for (auto& e : errors) problems.push_back(c.describe() + " n=" + std::to_string(n_) + " " + e);
  return problems;
}

}  // namespace colossus::test
