#include "comm/validate.hpp"

#include <cstdint>
#include <string>

#include "colossus/error.hpp"

namespace colossus::comm {

using plan::Collective;

namespace {

[[noreturn]] void bad(const plan::CollArgs& a, const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, std::string(to_string(a.coll)) + ": " + what);
}

// Bytes of `count` elements of `esize`, times `times`; throws on overflow.
std::size_t bytes_of(const plan::CollArgs& a, std::size_t count, std::size_t times) {
  std::size_t n = 0, bytes = 0;
  if (__builtin_mul_overflow(count, times, &n) ||
      __builtin_mul_overflow(n, dtype_size(a.dtype), &bytes) || bytes > PTRDIFF_MAX) {
    bad(a, "count " + std::to_string(count) + " of " + std::string(to_string(a.dtype)) +
               (times > 1 ? " times " + std::to_string(times) + " ranks" : "") +
               " overflows the byte count (size_t)");
  }
  return bytes;
}

void check_range(const plan::CollArgs& a, const char* name, const void* p, std::size_t bytes) {
  if (bytes == 0) return;
  if (p == nullptr) {
    bad(a, std::string(name) + " is null with count " + std::to_string(a.count));
  }
  std::uintptr_t end = 0;
  if (__builtin_add_overflow(reinterpret_cast<std::uintptr_t>(p), bytes, &end)) {
    bad(a, std::string(name) + " + " + std::to_string(bytes) + " bytes wraps the address space");
  }
}

}  // namespace

namespace {

// Alltoallv: every block's end fits size_t and the byte count.
void check_vector_args(const plan::CollArgs& a) {
  const auto& v = *a.v;
  const std::size_t n = static_cast<std::size_t>(a.nranks);
  const std::pair<const char*, const std::vector<std::size_t>*> sides[] = {
      {"send", &v.send_counts}, {"recv", &v.recv_counts}};
  for (const auto& [side, counts] : sides) {
    const auto& displs = counts == &v.send_counts ? v.send_displs : v.recv_displs;
    if (counts->size() != n || displs.size() != n) bad(a, "counts are not one per rank");
    for (std::size_t q = 0; q < n; ++q) {
      std::size_t end = 0;
      if (__builtin_add_overflow((*counts)[q], displs[q], &end)) {
        bad(a, std::string(side) + " block " + std::to_string(q) + " (displacement " +
                   std::to_string(displs[q]) + " + count " + std::to_string((*counts)[q]) +
                   ") overflows size_t");
      }
      bytes_of(a, end, 1);
    }
  }
}

}  // namespace

void validate_call(const plan::CollArgs& a, int rank, const void* send, const void* recv) {
  if (!is_valid(a.dtype)) bad(a, "unknown data type " + std::to_string(static_cast<int>(a.dtype)));
  if (plan::is_reducing(a.coll) && !is_valid(a.op)) {
    bad(a, "unknown reduction op " + std::to_string(static_cast<int>(a.op)));
  }
  if ((plan::is_rooted(a.coll) || plan::is_p2p(a.coll)) && (a.root < 0 || a.root >= a.nranks)) {
    bad(a, std::string(plan::is_p2p(a.coll) ? "peer " : "root ") + std::to_string(a.root) +
               " out of range [0, " + std::to_string(a.nranks) + ")");
  }
  if (a.coll == Collective::AllToAllv) check_vector_args(a);

  const std::size_t n = static_cast<std::size_t>(a.nranks);
  const bool per_rank_send = a.coll == Collective::ReduceScatter ||
                             a.coll == Collective::AllToAll || a.coll == Collective::Scatter;
  const bool per_rank_recv = a.coll == Collective::AllGather || a.coll == Collective::AllToAll ||
                             a.coll == Collective::Gather;
  const std::size_t send_bytes = a.coll == Collective::AllToAllv
                                     ? bytes_of(a, plan::send_count(a), 1)
                                     : bytes_of(a, a.count, per_rank_send ? n : 1);
  const std::size_t recv_bytes = a.coll == Collective::AllToAllv
                                     ? bytes_of(a, plan::recv_count(a), 1)
                                     : bytes_of(a, a.count, per_rank_recv ? n : 1);
  const bool root = rank == a.root;
  const bool reads_send = a.coll == Collective::Broadcast || a.coll == Collective::Scatter
                              ? root
                              : a.coll != Collective::Recv;
  const bool writes_recv = a.coll == Collective::Reduce || a.coll == Collective::Gather
                               ? root
                               : a.coll != Collective::Send;
  if (reads_send) check_range(a, a.coll == Collective::Send ? "buf" : "sendbuff", send, send_bytes);
  if (writes_recv)
    check_range(a, a.coll == Collective::Recv ? "buf" : "recvbuff", recv, recv_bytes);
  if (!reads_send || !writes_recv || send_bytes == 0 || recv_bytes == 0) return;

  // Send and recv may only meet in the API's in-place arrangement.
  const auto s = reinterpret_cast<std::uintptr_t>(send);
  const auto r = reinterpret_cast<std::uintptr_t>(recv);
  const std::size_t block = a.count * dtype_size(a.dtype);
  const std::size_t mine = static_cast<std::size_t>(rank) * block;
  bool in_place = false;
  switch (a.coll) {
    case Collective::AllGather:
    case Collective::Gather: in_place = s == r + mine; break;
    case Collective::ReduceScatter:
    case Collective::Scatter: in_place = r == s + mine; break;
    case Collective::AllToAll:
    case Collective::AllToAllv: in_place = false; break;
    default: in_place = s == r; break;
  }
  if (!in_place && s < r + recv_bytes && r < s + send_bytes) {
    bad(a,
        "sendbuff and recvbuff overlap but are not in place (see colossus.hpp for the "
        "in-place conventions)");
  }
}

}  // namespace colossus::comm
