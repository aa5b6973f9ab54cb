// The check of alltoall_perf, sendrecv_perf, gather_perf and scatter_perf:
// simulated ranks run a reference of each operation (the data movement
// that colossus.hpp defines, written here from the API, not from the
// check's expectations); the check must count nothing wrong after it, and
// exactly the damage after a wrong reference or a corrupted element.
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "catch.hpp"
#include "perf/check.hpp"
#include "perf/codec.hpp"
#include "perf/pattern.hpp"

using colossus::DataType;
using colossus::ReduceOp;
namespace perf = colossus::perf;

namespace {

// n ranks' buffers, laid out as the driver lays them out: separate send and
// recv, or in place one buffer per rank with send and recv at the
// Counts' offsets (send = buf + rank*send_inplace_offset, ...).
class Ranks {
 public:
  Ranks(const perf::Collective& coll, DataType type, int n, std::size_t count, int root,
        bool in_place)
      : c_(coll.counts(count, n)),
        n_(n),
        root_(root),
        in_place_(in_place),
        es_(colossus::dtype_size(type)) {
    for (int r = 0; r < n; ++r) {
      checks_.emplace_back(coll, type, ReduceOp::Sum, r, n, root);
      const auto ur = static_cast<std::size_t>(r);
      if (in_place) {
        std::size_t extent =
            std::max(c_.send_inplace_offset * ur + c_.send, c_.recv_inplace_offset * ur + c_.recv);
        mem_.emplace_back(extent * es_ + 1);
        unsigned char* base = mem_.back().data();
        bufs_.push_back({base + c_.send_inplace_offset * ur * es_,
                         base + c_.recv_inplace_offset * ur * es_, base, extent * es_});
      } else {
        mem_.emplace_back(c_.send * es_ + 1);
        unsigned char* send = mem_.back().data();
        mem_.emplace_back(c_.recv * es_ + 1);
        unsigned char* recv = mem_.back().data();
        bufs_.push_back({send, recv, recv, c_.recv * es_});
      }
      checks_.back().prepare(bufs_.back(), c_, 17);
    }
  }

  const perf::Counts& counts() const { return c_; }
  int size() const { return n_; }
  int root() const { return root_; }
  std::size_t es() const { return es_; }
  const unsigned char* send(int r) const { return bufs_[static_cast<std::size_t>(r)].send; }
  unsigned char* recv(int r) { return bufs_[static_cast<std::size_t>(r)].recv; }
  // memmove: in place, a rank's own block may be copied onto itself.
  void copy(unsigned char* dst, std::size_t dst_elem, const unsigned char* src,
            std::size_t src_elem, std::size_t count) {
    std::memmove(dst + dst_elem * es_, src + src_elem * es_, count * es_);
  }

  int64_t wrong(int r) const {
    const auto ur = static_cast<std::size_t>(r);
    return checks_[ur].verify(bufs_[ur], c_, in_place_);
  }
  int64_t total_wrong() const {
    int64_t sum = 0;
    for (int r = 0; r < n_; ++r) sum += wrong(r);
    return sum;
  }

 private:
  perf::Counts c_;
  int n_;
  int root_;
  bool in_place_;
  std::size_t es_;
  std::vector<std::vector<unsigned char>> mem_;
  std::vector<perf::CallBuffers> bufs_;
  std::vector<perf::RankCheck> checks_;
};

// The references, from colossus.hpp: block q of rank r's alltoall send goes
// to rank q, landing at block r; sendrecv sends to r+1; gather puts rank
// q's send at block q of root's recv; scatter sends block q of root's send
// to rank q.
void alltoall_ref(Ranks& k) {
  const std::size_t p = k.counts().param;
  for (int r = 0; r < k.size(); ++r) {
    for (int q = 0; q < k.size(); ++q) k.copy(k.recv(r), q * p, k.send(q), r * p, p);
  }
}
void sendrecv_ref(Ranks& k) {
  const int n = k.size();
  for (int r = 0; r < n; ++r) k.copy(k.recv(r), 0, k.send((r - 1 + n) % n), 0, k.counts().param);
}
void gather_ref(Ranks& k) {
  const std::size_t p = k.counts().param;
  for (int q = 0; q < k.size(); ++q) k.copy(k.recv(k.root()), q * p, k.send(q), 0, p);
}
void scatter_ref(Ranks& k) {
  const std::size_t p = k.counts().param;
  for (int r = 0; r < k.size(); ++r) k.copy(k.recv(r), 0, k.send(k.root()), r * p, p);
}

struct Case {
  const perf::Collective& coll;
  std::function<void(Ranks&)> reference;
};

std::vector<Case> cases() {
  return {{perf::alltoall_collective(), alltoall_ref},
          {perf::sendrecv_collective(), sendrecv_ref},
          {perf::gather_collective(), gather_ref},
          {perf::scatter_collective(), scatter_ref}};
}

}  // namespace

TEST_CASE("exchange checks pass after the reference and count a corrupted element") {
  // Counts as the tools pass them (bytes / element size): 0, below n,
  // prime, not divisible by n, and past the pattern's period.
  for (const Case& cs : cases()) {
    for (DataType type : {DataType::Int8, DataType::Float16, DataType::Float64}) {
      for (int n : {1, 2, 3, 4, 5}) {
        for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{13},
                                  std::size_t{1021 * 4 + 7}}) {
          for (int root : {0, n - 1}) {
            for (bool in_place : {false, true}) {
              if (in_place && !cs.coll.has_in_place) continue;
              INFO(cs.coll.name << " " << to_string(type) << " n=" << n << " count=" << count
                                << " root=" << root << " in_place=" << in_place);
              Ranks k(cs.coll, type, n, count, root, in_place);
              const std::size_t recv = k.counts().recv;
              // The last rank, or for a gather the root (the only recv written).
              const int victim = cs.coll.name == "Gather" ? root : n - 1;
              // Untouched, out of place: every element to receive is poison.
              if (recv > 0 && !in_place) CHECK(k.wrong(victim) == static_cast<int64_t>(recv));
              cs.reference(k);
              CHECK(k.total_wrong() == 0);
              if (recv > 0) {
                const double poison = perf::Pattern::poison(type);
                perf::encode(type, poison, k.recv(victim) + (recv - 1) * k.es());
                CHECK(k.wrong(victim) == 1);
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("exchange checks catch a wrong data movement") {
  const DataType type = DataType::Float32;
  const std::size_t count = 3 * 1000 + 2;  // 1000 per rank at n = 3, 2 left over
  SECTION("alltoall: blocks not transposed") {
    Ranks k(perf::alltoall_collective(), type, 3, count, 0, false);
    const std::size_t p = k.counts().param;
    for (int r = 0; r < 3; ++r) {
      for (int q = 0; q < 3; ++q) k.copy(k.recv(r), q * p, k.send(q), q * p, p);
    }
    CHECK(k.total_wrong() > 0);
  }
  SECTION("sendrecv: the ring turned the other way") {
    Ranks k(perf::sendrecv_collective(), type, 3, count, 0, false);
    for (int r = 0; r < 3; ++r) k.copy(k.recv(r), 0, k.send((r + 1) % 3), 0, count);
    CHECK(k.wrong(0) > 0);
  }
  SECTION("gather: a non-root's recv written, or the root missing a block") {
    for (bool in_place : {false, true}) {
      Ranks k(perf::gather_collective(), type, 3, count, 1, in_place);
      gather_ref(k);
      REQUIRE(k.total_wrong() == 0);
      const std::size_t p = k.counts().param;
      // Rank 2's recv is not the gather's to write, in place or not.
      k.copy(k.recv(2), 0, k.send(0), 0, p);
      CHECK(k.wrong(2) > 0);
      Ranks missing(perf::gather_collective(), type, 3, count, 1, in_place);
      for (int q : {0, 1}) missing.copy(missing.recv(1), q * p, missing.send(q), 0, p);
      CHECK(missing.wrong(1) == static_cast<int64_t>(p));
    }
  }
  SECTION("scatter: every rank given block 0") {
    Ranks k(perf::scatter_collective(), type, 3, count, 2, true);
    for (int r = 0; r < 3; ++r) k.copy(k.recv(r), 0, k.send(2), 0, k.counts().param);
    CHECK(k.wrong(0) == 0);
    CHECK(k.wrong(1) > 0);
  }
}

TEST_CASE("exchange counts follow nccl-tests") {
  // alltoall and gather/scatter: the size is the whole buffer, n blocks of
  // count/n (the remainder is not sent); sendrecv: count both ways.
  const perf::Counts a = perf::alltoall_collective().counts(10, 3);
  CHECK((a.send == 9 && a.recv == 9 && a.param == 3));
  const perf::Counts g = perf::gather_collective().counts(10, 3);
  CHECK((g.send == 3 && g.recv == 9 && g.param == 3 && g.send_inplace_offset == 3));
  const perf::Counts s = perf::scatter_collective().counts(10, 3);
  CHECK((s.send == 9 && s.recv == 3 && s.param == 3 && s.recv_inplace_offset == 3));
  const perf::Counts p = perf::sendrecv_collective().counts(10, 3);
  CHECK((p.send == 10 && p.recv == 10 && p.param == 10));
  CHECK(perf::alltoall_collective().busbw_factor(4) == 0.75);
  CHECK(perf::gather_collective().busbw_factor(4) == 0.75);
  CHECK(perf::scatter_collective().busbw_factor(4) == 0.75);
  CHECK(perf::sendrecv_collective().busbw_factor(4) == 1.0);
}
