#include "collectives/harness.hpp"

#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <sstream>

#include "collectives/reference.hpp"

namespace colossus::test {

using plan::Collective;

std::string Case::describe() const {
  std::ostringstream os;
  os << plan::to_string(coll) << " " << to_string(dtype) << " " << to_string(op) << " count "
     << count << " root " << root << (in_place ? " in-place" : " out-of-place")
     << (misaligned ? " misaligned" : "");
  return os.str();
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

}  // namespace

namespace {

struct Shape {
  std::size_t es, scount, rcount, block;
};

Shape shape_of(const Case& c, int n) {
  plan::CollArgs args;
  args.coll = c.coll;
  args.count = c.count;
  args.nranks = n;
  return {dtype_size(c.dtype), plan::send_count(args), plan::recv_count(args), c.count};
}

}  // namespace

Inputs make_inputs(const Case& c, int n) {
  const Shape sh = shape_of(c, n);
  Inputs inputs(static_cast<std::size_t>(n));
  std::vector<unsigned char> tmp(sh.es);
  for (int r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < sh.scount; ++i) {
      store(c.dtype, tmp.data(), 0, input_value(c.dtype, c.op, r, i));
      inputs[static_cast<std::size_t>(r)].push_back(load(c.dtype, tmp.data(), 0));
    }
  }
  return inputs;
}

void run_rank(const Case& c, int n, int r, Communicator& comm, const Inputs& inputs,
              const std::function<void(const std::string&)>& report) {
  const Shape sh = shape_of(c, n);
  const std::size_t es = sh.es, scount = sh.scount, rcount = sh.rcount, block = sh.block;
  const auto ur = static_cast<std::size_t>(r);
  const std::size_t shift = c.misaligned ? es : 0;
  Buffer recv(rcount * es, shift), send(scount * es, shift);
  // In place: the input sits where the API's convention puts it.
  unsigned char* sp = send.data;
  unsigned char* rp = recv.data;
  if (c.in_place) {
    if (c.coll == Collective::AllGather)
      sp = rp + ur * block * es;
    else if (c.coll == Collective::ReduceScatter)
      rp = sp + ur * block * es;
    else
      sp = rp;
  }
  for (std::size_t i = 0; i < scount; ++i) store(c.dtype, sp, i, inputs[ur][i]);
  switch (c.coll) {
    case Collective::AllReduce: comm.allreduce(sp, rp, c.count, c.dtype, c.op); break;
    case Collective::AllGather: comm.allgather(sp, rp, c.count, c.dtype); break;
    case Collective::ReduceScatter: comm.reduce_scatter(sp, rp, c.count, c.dtype, c.op); break;
    case Collective::Broadcast: comm.broadcast(sp, rp, c.count, c.dtype, c.root); break;
    case Collective::Reduce: comm.reduce(sp, rp, c.count, c.dtype, c.op, c.root); break;
  }

  int bad = 0;
  auto check = [&](std::size_t i, double got, Expected e) {
    if (std::fabs(got - e.value) <= e.tolerance) return;
    if (bad++ < 3) {
      std::ostringstream os;
      os << "recv[" << i << "] = " << got << ", expected " << e.value << " +- " << e.tolerance;
      report(os.str());
    }
  };
  std::vector<double> column(static_cast<std::size_t>(n));
  auto reduced = [&](std::size_t input_index) {
    for (std::size_t q = 0; q < column.size(); ++q) column[q] = inputs[q][input_index];
    return reduce_reference(c.dtype, c.op, column.data(), n);
  };
  const bool writes_recv = c.coll != Collective::Reduce || r == c.root;
  if (writes_recv) {
    for (std::size_t i = 0; i < rcount; ++i) {
      const double got = load(c.dtype, rp, i);
      switch (c.coll) {
        case Collective::AllReduce:
        case Collective::Reduce: check(i, got, reduced(i)); break;
        case Collective::ReduceScatter: check(i, got, reduced(ur * block + i)); break;
        case Collective::AllGather: check(i, got, {inputs[i / block][i % block], 0}); break;
        case Collective::Broadcast:
          check(i, got, {inputs[static_cast<std::size_t>(c.root)][i], 0});
          break;
      }
    }
  } else if (!c.in_place) {
    for (std::size_t b = 0; b < rcount * es; ++b) {
      if (rp[b] != kSentinel) {
        report("reduce wrote the recv buffer of a non-root rank");
        break;
      }
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
