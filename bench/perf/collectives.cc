// The collectives of the nccl-tests family, as descriptors.
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
void allreduce_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp op, int,
                   cudaStream_t st) {
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
void allgather_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp, int,
                   cudaStream_t st) {
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
void reduce_scatter_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                        int, cudaStream_t st) {
  c.reduce_scatter(s, r, n, t, op, st);
}
std::vector<Expect> reduce_scatter_expect(const Counts& c, int rank, int, int, bool) {
  // Rank r holds block r of the reduced vector: pattern indices from r*recv.
  return {{Kind::Reduced, 0, c.recv, (rank * c.recv) % kPatternPeriod}};
}

// ---- broadcast: root's count elements to everyone; bus factor 1 ----
Counts rooted_counts(std::size_t count, int) { return {count, count, count, 0, 0}; }
void broadcast_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp,
                   int root, cudaStream_t st) {
  c.broadcast(s, r, n, t, root, st);
}
bool root_only(int rank, int root) { return rank == root; }
std::vector<Expect> broadcast_expect(const Counts& c, int, int, int root, bool) {
  return {{Kind::Input, 0, c.recv, 0, root}};
}

// ---- reduce: everyone's input reduced into root's recv; others' recv is
// not written (in place it still holds the rank's own input) ----
void reduce_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp op,
                int root, cudaStream_t st) {
  c.reduce(s, r, n, t, op, root, st);
}
std::vector<Expect> reduce_expect(const Counts& c, int rank, int, int root, bool in_place) {
  if (rank == root) return {{Kind::Reduced, 0, c.recv}};
  if (in_place) return {{Kind::Input, 0, c.recv, 0, rank}};
  return {{Kind::Poison, 0, c.recv}};
}

// ---- alltoall: the size is the whole send buffer; block q (count/n
// elements) goes to rank q. No in-place form: the library rejects it ----
Counts alltoall_counts(std::size_t count, int n) {
  std::size_t per_rank = count / n;
  return {per_rank * n, per_rank * n, per_rank, 0, 0};
}
void alltoall_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp, int,
                  cudaStream_t st) {
  c.alltoall(s, r, n, t, st);
}
std::vector<Expect> alltoall_expect(const Counts& c, int rank, int nranks, int, bool) {
  // Block q is block `rank` of rank q's send buffer: its pattern starts at
  // index rank*count there.
  std::vector<Expect> out;
  out.reserve(nranks);
  for (int q = 0; q < nranks; ++q) {
    out.push_back({Kind::Input, q * c.param, c.param, (rank * c.param) % kPatternPeriod, q});
  }
  return out;
}

// ---- sendrecv: a ring shift, `count` to rank+1 and from rank-1; bus
// factor 1. No in-place form ----
Counts sendrecv_counts(std::size_t count, int) { return {count, count, count, 0, 0}; }
void sendrecv_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp, int,
                  cudaStream_t) {
  const int size = c.size();
  const int me = c.rank();
  // One group: the send and the receive progress together, so the ring
  // cannot deadlock on a rendezvous, and one rank's send to itself is legal.
  // A call that throws ends the process (the driver's die()), so no group
  // is left open behind it.
  c.group_start();
  c.send(s, n, t, (me + 1) % size);
  c.recv(r, n, t, (me - 1 + size) % size);
  c.group_end();
}
std::vector<Expect> sendrecv_expect(const Counts& c, int rank, int nranks, int, bool) {
  return {{Kind::Input, 0, c.recv, 0, (rank - 1 + nranks) % nranks}};
}

// ---- gather: the size is root's full buffer, n blocks of count/n; in
// place, a rank's send is its block of recv ----
Counts gather_counts(std::size_t count, int n) {
  std::size_t per_rank = count / n;
  return {per_rank, per_rank * n, per_rank, per_rank, 0};
}
void gather_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp, int root,
                cudaStream_t st) {
  c.gather(s, r, n, t, root, st);
}
std::vector<Expect> gather_expect(const Counts& c, int rank, int nranks, int root, bool in_place) {
  if (rank == root) return allgather_expect(c, rank, nranks, root, in_place);
  if (!in_place) return {{Kind::Poison, 0, c.recv}};
  // In place a non-root's input sits at its block of the (unwritten) recv.
  const std::size_t mine = rank * c.send;
  return {{Kind::Poison, 0, mine},
          {Kind::Input, mine, c.send, 0, rank},
          {Kind::Poison, mine + c.send, c.recv - mine - c.send}};
}

// ---- scatter: the size is root's full buffer, block q to rank q; in
// place, a rank's recv is its block of send ----
Counts scatter_counts(std::size_t count, int n) {
  std::size_t per_rank = count / n;
  return {per_rank * n, per_rank, per_rank, 0, per_rank};
}
void scatter_run(PerfComm& c, const void* s, void* r, std::size_t n, DataType t, ReduceOp, int root,
                 cudaStream_t st) {
  c.scatter(s, r, n, t, root, st);
}
std::vector<Expect> scatter_expect(const Counts& c, int rank, int, int root, bool) {
  return {{Kind::Input, 0, c.recv, (rank * c.recv) % kPatternPeriod, root}};
}

}  // namespace

const Collective& all_reduce_collective() {
  static const Collective c{.name = "AllReduce",
                            .uses_op = true,
                            .uses_root = false,
                            .has_in_place = true,
                            .counts = allreduce_counts,
                            .busbw_factor = allreduce_factor,
                            .run = allreduce_run,
                            .device_form = true,
                            .has_input = everyone,
                            .expect = allreduce_expect};
  return c;
}

const Collective& all_gather_collective() {
  static const Collective c{.name = "AllGather",
                            .uses_op = false,
                            .uses_root = false,
                            .has_in_place = true,
                            .counts = allgather_counts,
                            .busbw_factor = ring_factor,
                            .run = allgather_run,
                            .device_form = true,
                            .has_input = everyone,
                            .expect = allgather_expect};
  return c;
}

const Collective& reduce_scatter_collective() {
  static const Collective c{.name = "ReduceScatter",
                            .uses_op = true,
                            .uses_root = false,
                            .has_in_place = true,
                            .counts = reduce_scatter_counts,
                            .busbw_factor = ring_factor,
                            .run = reduce_scatter_run,
                            .device_form = true,
                            .has_input = everyone,
                            .expect = reduce_scatter_expect};
  return c;
}

const Collective& broadcast_collective() {
  static const Collective c{.name = "Broadcast",
                            .uses_op = false,
                            .uses_root = true,
                            .has_in_place = true,
                            .counts = rooted_counts,
                            .busbw_factor = one,
                            .run = broadcast_run,
                            .device_form = true,
                            .has_input = root_only,
                            .expect = broadcast_expect};
  return c;
}

const Collective& reduce_collective() {
  static const Collective c{.name = "Reduce",
                            .uses_op = true,
                            .uses_root = true,
                            .has_in_place = true,
                            .counts = rooted_counts,
                            .busbw_factor = one,
                            .run = reduce_run,
                            .device_form = true,
                            .has_input = everyone,
                            .expect = reduce_expect};
  return c;
}

const Collective& alltoall_collective() {
  static const Collective c{.name = "AlltoAll",
                            .uses_op = false,
                            .uses_root = false,
                            .has_in_place = false,
                            .counts = alltoall_counts,
                            .busbw_factor = ring_factor,
                            .run = alltoall_run,
                            .device_form = true,
                            .has_input = everyone,
                            .expect = alltoall_expect};
  return c;
}

const Collective& sendrecv_collective() {
  // No stream form: the library has no send/recv on device buffers yet.
  static const Collective c{.name = "SendRecv",
                            .uses_op = false,
                            .uses_root = false,
                            .has_in_place = false,
                            .counts = sendrecv_counts,
                            .busbw_factor = one,
                            .run = sendrecv_run,
                            .device_form = false,
                            .has_input = everyone,
                            .expect = sendrecv_expect};
  return c;
}

const Collective& gather_collective() {
  static const Collective c{.name = "Gather",
                            .uses_op = false,
                            .uses_root = true,
                            .has_in_place = true,
                            .counts = gather_counts,
                            .busbw_factor = ring_factor,
                            .run = gather_run,
                            .device_form = true,
                            .has_input = everyone,
                            .expect = gather_expect};
  return c;
}

const Collective& scatter_collective() {
  static const Collective c{.name = "Scatter",
                            .uses_op = false,
                            .uses_root = true,
                            .has_in_place = true,
                            .counts = scatter_counts,
                            .busbw_factor = ring_factor,
                            .run = scatter_run,
                            .device_form = true,
                            .has_input = root_only,
                            .expect = scatter_expect};
  return c;
}

}  // namespace colossus::perf
