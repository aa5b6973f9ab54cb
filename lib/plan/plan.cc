#include "plan/plan.hpp"

#include <algorithm>
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
    case Collective::AllToAll: return "alltoall";
    case Collective::AllToAllv: return "alltoallv";
    case Collective::Gather: return "gather";
    case Collective::Scatter: return "scatter";
    case Collective::Send: return "send";
    case Collective::Recv: return "recv";
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

const char* collective_names() {
  return "allreduce, allgather, reduce_scatter, broadcast, reduce, alltoall, alltoallv, gather, "
         "scatter, send, recv";
}

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

namespace {
std::size_t extent(const std::vector<std::size_t>& counts, const std::vector<std::size_t>& displs) {
  std::size_t end = 0;
  for (std::size_t q = 0; q < counts.size() && q < displs.size(); ++q) {
    if (counts[q] > 0) end = std::max(end, displs[q] + counts[q]);
  }
  return end;
}
}  // namespace

std::size_t send_count(const CollArgs& a) {
  const std::size_t n = static_cast<std::size_t>(a.nranks);
  switch (a.coll) {
    case Collective::ReduceScatter:
    case Collective::AllToAll: return a.count * n;
    case Collective::Scatter: return a.count * n;  // read on the root only
    case Collective::AllToAllv: return a.v ? extent(a.v->send_counts, a.v->send_displs) : 0;
    case Collective::Recv: return 0;
    default: return a.count;
  }
}

std::size_t recv_count(const CollArgs& a) {
  const std::size_t n = static_cast<std::size_t>(a.nranks);
  switch (a.coll) {
    case Collective::AllGather:
    case Collective::AllToAll:
    case Collective::Gather: return a.count * n;  // gather: written on the root only
    case Collective::AllToAllv: return a.v ? extent(a.v->recv_counts, a.v->recv_displs) : 0;
    case Collective::Send: return 0;
    default: return a.count;
  }
}

bool moves_nothing(const CollArgs& a) {
  if (a.coll != Collective::AllToAllv) return a.count == 0;
  return total_send(a) == 0 && recv_count(a) == 0;
}

std::size_t total_send(const CollArgs& a) {
  if (a.coll != Collective::AllToAllv) return send_count(a);
  std::size_t t = 0;
  if (a.v) {
    for (const std::size_t c : a.v->send_counts) t += c;
  }
  return t;
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
