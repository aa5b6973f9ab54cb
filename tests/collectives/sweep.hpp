// sweep.hpp: the one collective sweep's matrix: transport x launch x ranks
// x setting x dtype x op x count x placement.
//
// groups(transport, launch, coll) lists the groups to build, each with its rank
// count, its setting (channels, chunk, slot, tcp sockets) and the profiles
// it runs; cases(profile, coll, n) expands a profile into harness cases:
// every (dtype, op) kind at every count, in place and out of place, roots
// and misaligned buffers varying across them. Every output is compared
// with the float64 reference (collectives/reference.hpp) by the harness.
//
// The matrix is the union of what the per-transport sweeps it replaced
// covered (loopback threads; shm and tcp threads; shm and tcp processes
// through init()), sized for a 2-core machine:
//   loopback threads : n 1,2,3,4,7,8,16; settings wide, 3ch/64 B slots;
//                      every dtype x op; counts 0,1,2,7,1009; fp32, bf16,
//                      int8 at 300007 (wide) / 20011, alternating placement
//   shm, tcp threads : n 2,3,4,8; settings 2ch/64 B slots, 3ch/256 B
//                      (shm) or 512 B (tcp) slots, wide (tcp: 1, 2, 3
//                      sockets); fp32, bf16, int8, fp64, uint64 (tcp: and
//                      fp16) x every op (tcp at n=8: fp32, int8 x sum,
//                      max); counts 0,1,7,1009; 600011 (wide) / 20011
//   shm, tcp processes: n 2,3,4,8; 4 KiB slots: 7 dtype/op kinds at
//                      0,1,7,1009,65537; wide: fp32 sum, max, int32 at 1,
//                      1000, (n<=4) 2^20+3; 3ch/128 B slots: the same at
//                      5003 (three communicators per job); in place on
//                      every other case
// The exchanges (alltoall, alltoallv, gather, scatter, the send/recv
// pattern; no in-place form for the first two and the pattern):
//   loopback threads : n 1..9, 16; settings wide, 3ch/64 B slots; every
//                      dtype at 0,1,7,1009; fp32, bf16, int8 at a large
//                      count (alltoall(v) 20011 / 2003, gather, scatter
//                      100003 / 10007, send/recv 300007 / 20011)
//   shm, tcp threads : n 2,3,4,8; settings 2ch/64 B slots, wide; fp32,
//                      bf16, int8, fp64, uint64 at 0,1,7,1009; fp32 large
//   shm, tcp processes: the jobs above; 4 KiB slots: the 7 kinds at
//                      0,1,7,1009,8209; wide: fp32 large; 3ch/128 B: fp32
//                      at 1009
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "collectives/harness.hpp"
#include "support/wire_group.hpp"

namespace colossus::test {

inline bool reduces(plan::Collective c) {
  return c == plan::Collective::AllReduce || c == plan::Collective::ReduceScatter ||
         c == plan::Collective::Reduce;
}

// What a group runs: each (dtype, op) kind (empty: every dtype x every op)
// at each count, in place and out of place (or, to halve a slow group's
// cases, in place on every other one). Collectives that do not reduce run
// each dtype once.
struct Profile {
  std::vector<std::pair<DataType, ReduceOp>> kinds;
  std::vector<std::size_t> counts;
  bool every_placement = true;
};

struct Setting {
  std::string name;
  Options options;
  int tcp_sockets = 2;
};

struct GroupSpec {
  int n;
  Setting setting;
  std::vector<Profile> profiles;
};

std::vector<Case> cases(const Profile& p, plan::Collective coll, int n);
// Seven (dtype, op) kinds, every dtype class, at counts 0 to 65537 (8209
// for the exchanges): what ranks in processes run (here and in mp_worker,
// under the launchers).
Profile process_spread(plan::Collective coll);
std::vector<GroupSpec> groups(Wire wire, Launch launch, plan::Collective coll);

}  // namespace colossus::test
