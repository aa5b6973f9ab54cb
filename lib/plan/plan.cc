#include "plan/plan.hpp"

#include <cctype>
#include <sstream>

namespace colossus::plan {

const char* to_string(Collective c) {
  switch (c) {
    case Collective::AllReduce: return "allreduce";
    case Collective::AllGather: return "allgather";
    case Collective::ReduceScatter: return "reduce_scatter";
    case Collective::Broadcast: return "broadcast";
    case Collective::Reduce: return "reduce";
  }
  return "?";
}

std::optional<Collective> parse_collective(std::string_view name) {
  std::string lower(name);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "reducescatter") return Collective::ReduceScatter;
  for (int c = 0; c < kNumCollectives; ++c) {
    if (lower == to_string(static_cast<Collective>(c))) return static_cast<Collective>(c);
  }
  return std::nullopt;
}

const char* collective_names() { return "allreduce, allgather, reduce_scatter, broadcast, reduce"; }

const char* to_string(Buffer b) {
  switch (b) {
    case Buffer::Send: return "send";
    case Buffer::Recv: return "recv";
    case Buffer::Scratch: return "scratch";
  }
  return "?";
}

const char* to_string(StepKind k) {
  switch (k) {
    case StepKind::Send: return "Send";
    case StepKind::Recv: return "Recv";
    case StepKind::RecvReduce: return "RecvReduce";
    case StepKind::RecvReduceSend: return "RecvReduceSend";
    case StepKind::RecvCopySend: return "RecvCopySend";
    case StepKind::RecvReduceCopySend: return "RecvReduceCopySend";
    case StepKind::Copy: return "Copy";
    case StepKind::Reduce: return "Reduce";
  }
  return "?";
}

std::size_t send_count(const CollArgs& a) {
  return a.coll == Collective::ReduceScatter ? a.count * static_cast<std::size_t>(a.nranks)
                                             : a.count;
}

std::size_t recv_count(const CollArgs& a) {
  return a.coll == Collective::AllGather ? a.count * static_cast<std::size_t>(a.nranks) : a.count;
}

std::size_t Plan::num_steps() const {
  std::size_t n = 0;
  for (const auto& ch : channels) n += ch.steps.size();
  return n;
}

namespace {
void put_slice(std::ostream& os, const char* name, const Slice& s) {
  os << ' ' << name << '=' << to_string(s.buffer) << '[' << s.offset << ",+" << s.count << ')';
}
}  // namespace

std::string describe(const Step& s) {
  std::ostringstream os;
  os << to_string(s.kind);
  if (receives(s.kind)) os << " from " << s.recv_peer;
  if (sends(s.kind)) os << " to " << s.send_peer;
  if (reads_src(s.kind)) put_slice(os, "src", s.src);
  if (writes_dst(s.kind)) put_slice(os, "dst", s.dst);
  if (s.finalize) os << " finalize";
  return os.str();
}

std::string describe(const Plan& p) {
  std::ostringstream os;
  os << p.algorithm << ' ' << to_string(p.args.coll) << " rank " << p.rank << '/' << p.args.nranks
     << " count " << p.args.count << ' ' << to_string(p.args.dtype) << ' ' << to_string(p.args.op)
     << " root " << p.args.root << ", " << p.channels.size() << " channels, " << p.num_steps()
     << " steps\n";
  for (std::size_t c = 0; c < p.channels.size(); ++c) {
    for (std::size_t i = 0; i < p.channels[c].steps.size(); ++i) {
      os << "  ch" << c << " #" << i << ' ' << describe(p.channels[c].steps[i]) << '\n';
    }
  }
  return os.str();
}

}  // namespace colossus::plan
