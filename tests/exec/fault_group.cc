#include "fault_group.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>
#include <thread>

#include "collectives/reference.hpp"
#include "exec/executor.hpp"
#include "support/values.hpp"
#include "transports/loopback/loopback.hpp"

namespace colossus::test::fault {

namespace tp = colossus::transport;
using plan::Collective;

// The definitions of fault_group.hpp, in its order.

plan::CollArgs args_of(const Case& c) {
  plan::CollArgs a;
  a.coll = c.coll;
  a.count = c.count;
  a.dtype = c.dtype;
  a.op = c.op;
  a.root = c.root;
  a.nranks = kRanks;
  return a;
}

plan::Plan plan_of(Algo algo, const Case& c, int rank) {
  return algorithms::make_plan(algo, args_of(c), rank, {1, kChunk, nullptr});
}

Run run_group(Algo algo, const Case& c, const std::vector<tp::FaultRule>& rules, double timeout_s) {
  Run run;
  run.c = c;
  const plan::CollArgs args = args_of(c);
  for (int r = 0; r < kRanks; ++r) run.plans.push_back(plan_of(algo, c, r));
  run.inputs = make_inputs(c, kRanks);
  run.outcomes.resize(kRanks);
  run.outputs.resize(kRanks);
  auto nets = tp::wrap_with_faults(tp::make_loopback_transports(kRanks, kSlot, kDepth), rules);
  for (auto& t : nets) run.counts.push_back(dynamic_cast<tp::FaultTransport&>(*t).counts());

  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      const auto ur = static_cast<std::size_t>(r);
      const plan::Plan& p = run.plans[ur];
      const std::size_t es = dtype_size(c.dtype);
      std::vector<unsigned char> send(plan::send_count(args) * es);
      std::vector<unsigned char> recv(plan::recv_count(args) * es);
      std::vector<unsigned char> scratch(p.scratch_count * es);
      for (std::size_t i = 0; i < plan::send_count(args); ++i) {
        store(c.dtype, send.data(), i, run.inputs[ur][i]);
      }
      Outcome& o = run.outcomes[ur];
      try {
        exec::Executor ex(*nets[ur], timeout_s);
        ex.run(p, {send.data(), recv.data(), scratch.data()});
        o.ok = true;
      } catch (const Error& e) {
        o.code = e.code();
        o.message = e.what();
      } catch (const std::exception& e) {
        o.message = std::string("not a colossus::Error: ") + e.what();
      }
      for (std::size_t i = 0; i < plan::recv_count(args); ++i) {
        run.outputs[ur].push_back(load(c.dtype, recv.data(), i));
      }
    });
  }
  for (auto& t : threads) t.join();
  return run;
}

std::vector<Message> messages(const plan::Plan& p, int channel, int peer, bool sending) {
  const std::size_t es = dtype_size(p.args.dtype);
  const std::size_t piece = std::max<std::size_t>(1, kSlot / es);
  std::vector<Message> out;
  const auto& steps = p.channels[static_cast<std::size_t>(channel)].steps;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const plan::Step& st = steps[s];
    const bool talks = sending ? plan::sends(st.kind) && st.send_peer == peer
                               : plan::receives(st.kind) && st.recv_peer == peer;
    if (!talks) continue;
    std::size_t done = 0;
    do {
      const std::size_t k = std::min(piece, st.count() - done);
      out.push_back({s, k * es});
      done += k;
    } while (done < st.count());
  }
  return out;
}

int first_recv_peer(const plan::Plan& p) {
  for (const plan::Step& s : p.channels[0].steps) {
    if (plan::receives(s.kind)) return s.recv_peer;
  }
  return -1;
}

std::string step_name(int channel, std::size_t step) {
  return "channel " + std::to_string(channel) + " step " + std::to_string(step) + " (";
}

std::string line_of(const std::string& message, int channel) {
  std::istringstream in(message);
  const std::string key = "channel " + std::to_string(channel) + " step ";
  for (std::string line; std::getline(in, line);) {
    if (line.find(key) != std::string::npos) return line;
  }
  return "";
}

std::string describe(const Run& run) {
  std::ostringstream os;
  os << run.c.describe() << ", " << run.plans[0].algorithm;
  for (int r = 0; r < kRanks; ++r) {
    const Outcome& o = run.outcomes[static_cast<std::size_t>(r)];
    os << "\n  rank " << r << ": "
       << (o.ok ? std::string("done") : to_string(o.code) + std::string(": ") + o.message);
  }
  return os.str();
}

Case allreduce_f64(std::size_t count) {
  Case c;
  c.coll = Collective::AllReduce;
  c.dtype = DataType::Float64;
  c.op = ReduceOp::Sum;
  c.count = count;
  return c;
}

std::vector<std::string> check_outputs(const Run& run, int r) {
  const Case& c = run.c;
  const auto ur = static_cast<std::size_t>(r);
  std::vector<std::string> bad;
  std::vector<double> column(kRanks);
  auto reduced = [&](std::size_t k) {
    for (std::size_t q = 0; q < column.size(); ++q) column[q] = run.inputs[q][k];
    return reduce_reference(c.dtype, c.op, column.data(), kRanks);
  };
  if (c.coll == Collective::Reduce && r != c.root) return bad;
  for (std::size_t i = 0; i < run.outputs[ur].size() && bad.size() < 3; ++i) {
    Expected e;
    switch (c.coll) {
      case Collective::AllReduce:
      case Collective::Reduce: e = reduced(i); break;
      case Collective::ReduceScatter: e = reduced(ur * c.count + i); break;
      case Collective::AllGather: e = {run.inputs[i / c.count][i % c.count], 0}; break;
      case Collective::Broadcast: e = {run.inputs[static_cast<std::size_t>(c.root)][i], 0}; break;
    }
    const double got = run.outputs[ur][i];
    if (!(std::fabs(got - e.value) <= e.tolerance)) {
      bad.push_back("recv[" + std::to_string(i) + "] = " + std::to_string(got) + ", expected " +
                    std::to_string(e.value));
    }
  }
  return bad;
}

}  // namespace colossus::test::fault
