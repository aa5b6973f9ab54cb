// The five collectives of the nccl-tests family, as descriptors.
#include "perf/collective.hpp"
#include "perf/pattern.hpp"

namespace colossus::perf {

namespace {

using Kind = Expect::Kind;

bool everyone(int, int) { return true; }
double ring_factor(int n) { return static_cast<double>(n - 1) / n; }
double one(int) { return 1.0; }

// ---- allreduce: count elements in, count out; bus factor 2(n-1)/n ----
Counts allreduce_counts(std::size_t count, int) { return {count, count, count, 0, 0}; }
double allreduce_factor(int n) { return 2.0 * (n - 1) / n; }
void allreduce_run(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                   int) {
  c.allreduce(s, r, n, t, op);
}
void allreduce_stream(Communicator& c, const void* s, void* r, std::size_t n, DataType t,
                      ReduceOp op, int, cudaStream_t st) {
  c.allreduce(s, r, n, t, op, st);
}
std::vector<Expect> allreduce_expect(const Counts& c, int, int, int, bool) {
  return {{Kind::Reduced, 0, c.recv}};
}

// ---- allgather: count/n each; in place, a rank's send is its own block ----
Counts allgather_counts(std::size_t count, int n) {
  std::size_t per_rank = count / n;
  return {per_rank, per_rank * n, per_rank, per_rank, 0};
}
void allgather_run(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp,
                   int) {
  c.allgather(s, r, n, t);
}
void allgather_stream(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp,
                      int, cudaStream_t st) {
  c.allgather(s, r, n, t, st);
}
std::vector<Expect> allgather_expect(const Counts& c, int, int nranks, int, bool) {
  std::vector<Expect> out;
  out.reserve(nranks);
  for (int q = 0; q < nranks; ++q) out.push_back({Kind::Input, q * c.send, c.send, 0, q});
  return out;
}

// ---- reduce_scatter: n*(count/n) in, count/n out; in place, recv is the
// rank's block of send ----
Counts reduce_scatter_counts(std::size_t count, int n) {
  std::size_t per_rank = count / n;
  return {per_rank * n, per_rank, per_rank, 0, per_rank};
}
void reduce_scatter_run(Communicator& c, const void* s, void* r, std::size_t n, DataType t,
                        ReduceOp op, int) {
  c.reduce_scatter(s, r, n, t, op);
}
void reduce_scatter_stream(Communicator& c, const void* s, void* r, std::size_t n, DataType t,
                           ReduceOp op, int, cudaStream_t st) {
  c.reduce_scatter(s, r, n, t, op, st);
}
std::vector<Expect> reduce_scatter_expect(const Counts& c, int rank, int, int, bool) {
  // Rank r holds block r of the reduced vector: pattern indices from r*recv.
  return {{Kind::Reduced, 0, c.recv, (rank * c.recv) % kPatternPeriod}};
}

// ---- broadcast: root's count elements to everyone; bus factor 1 ----
Counts rooted_counts(std::size_t count, int) { return {count, count, count, 0, 0}; }
void broadcast_run(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp,
                   int root) {
  c.broadcast(s, r, n, t, root);
}
void broadcast_stream(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp,
                      int root, cudaStream_t st) {
  c.broadcast(s, r, n, t, root, st);
}
bool root_only(int rank, int root) { return rank == root; }
std::vector<Expect> broadcast_expect(const Counts& c, int, int, int root, bool) {
  return {{Kind::Input, 0, c.recv, 0, root}};
}

// ---- reduce: everyone's input reduced into root's recv; others' recv is
// not written (in place it still holds the rank's own input) ----
void reduce_run(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                int root) {
  c.reduce(s, r, n, t, op, root);
}
void reduce_stream(Communicator& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                   int root, cudaStream_t st) {
  c.reduce(s, r, n, t, op, root, st);
}
std::vector<Expect> reduce_expect(const Counts& c, int rank, int, int root, bool in_place) {
  if (rank == root) return {{Kind::Reduced, 0, c.recv}};
  if (in_place) return {{Kind::Input, 0, c.recv, 0, rank}};
  return {{Kind::Poison, 0, c.recv}};
}

}  // namespace

const Collective& all_reduce_collective() {
  static const Collective c{"AllReduce",
                            true,
                            false,
                            allreduce_counts,
                            allreduce_factor,
                            allreduce_run,
                            allreduce_stream,
                            everyone,
                            allreduce_expect};
  return c;
}

const Collective& all_gather_collective() {
  static const Collective c{"AllGather",      false,       false,
                            allgather_counts, ring_factor, allgather_run,
                            allgather_stream, everyone,    allgather_expect};
  return c;
}

const Collective& reduce_scatter_collective() {
  static const Collective c{"ReduceScatter",       true,        false,
                            reduce_scatter_counts, ring_factor, reduce_scatter_run,
                            reduce_scatter_stream, everyone,    reduce_scatter_expect};
  return c;
}

const Collective& broadcast_collective() {
  static const Collective c{"Broadcast",      false,     true,
                            rooted_counts,    one,       broadcast_run,
                            broadcast_stream, root_only, broadcast_expect};
  return c;
}

const Collective& reduce_collective() {
  static const Collective c{"Reduce",   true,          true,     rooted_counts, one,
                            reduce_run, reduce_stream, everyone, reduce_expect};
  return c;
}

}  // namespace colossus::perf
