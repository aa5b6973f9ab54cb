#include "collectives/sweep.hpp"

#include <algorithm>

namespace colossus::test {

using plan::Collective;

std::vector<Case> cases(const Profile& p, Collective coll, int n) {
  std::vector<std::pair<DataType, ReduceOp>> kinds = p.kinds;
  if (kinds.empty()) {
    for (int t = 0; t < kNumDataTypes; ++t) {
      for (int o = 0; o < kNumReduceOps; ++o)
        kinds.emplace_back(static_cast<DataType>(t), static_cast<ReduceOp>(o));
    }
  }
  if (!reduces(coll)) {  // the op means nothing: each dtype once
    std::vector<std::pair<DataType, ReduceOp>> once;
    for (const auto& [t, op] : kinds) {
      const std::pair<DataType, ReduceOp> k{t, ReduceOp::Sum};
      if (std::find(once.begin(), once.end(), k) == once.end()) once.push_back(k);
    }
    kinds = once;
  }
  std::vector<Case> out;
  std::size_t index = 0;
  for (const auto& [t, op] : kinds) {
    for (const std::size_t count : p.counts) {
      const bool alternate = index++ % 2 == 1;  // this case's placement when not both
      for (const bool in_place : {false, true}) {
        if (in_place && !has_in_place(coll)) continue;
        if (!p.every_placement && in_place != alternate && has_in_place(coll)) continue;
        const std::size_t spin = count * 3 + static_cast<std::size_t>(t) + (in_place ? 1 : 0);
        Case c;
        c.coll = coll;
        c.dtype = t;
        c.op = op;
        c.count = count;
        c.root = static_cast<int>(spin % static_cast<std::size_t>(n));
        c.in_place = in_place;
        // Each dtype meets misaligned buffers at some count and placement.
        c.misaligned = (count + static_cast<std::size_t>(t) + (in_place ? 1 : 0)) % 3 == 1;
        out.push_back(c);
      }
    }
  }
  return out;
}

Profile process_spread(Collective coll) {
  // An exchange moves up to n blocks per rank: a smaller largest count.
  return {{{DataType::Float32, ReduceOp::Sum},
           {DataType::Bfloat16, ReduceOp::Avg},
           {DataType::Int32, ReduceOp::Max},
           {DataType::Float8e4m3, ReduceOp::Sum},
           {DataType::Int64, ReduceOp::Prod},
           {DataType::Float64, ReduceOp::Min},
           {DataType::Uint8, ReduceOp::Sum}},
          {0, 1, 7, 1009, is_exchange(coll) ? std::size_t{8209} : std::size_t{65537}},
          false};
}

namespace {

Setting setting(const char* name, int nchannels, std::size_t chunk, std::size_t slot, int sockets) {
  Setting s;
  s.name = name;
  s.options.nchannels = nchannels;
  s.options.chunk_bytes = chunk;
  s.options.slot_bytes = slot;
  s.options.timeout_s = 60;
  s.tcp_sockets = sockets;
  return s;
}

const Setting kWide = setting("wide (defaults)", 0, 0, 0, 3);  // 512 KiB slots, striped on tcp

std::vector<GroupSpec> loopback_threads() {
  const Setting tiny = setting("3ch 64 B chunks, 64 B slots", 3, 64, 64, 1);
  const Profile every{{}, {0, 1, 2, 7, 1009}};
  std::vector<GroupSpec> out;
  for (const int n : {1, 2, 3, 4, 7, 8, 16}) {
    for (const Setting* s : {&kWide, &tiny}) {
      const Profile big{{{DataType::Float32, ReduceOp::Sum},
                         {DataType::Bfloat16, ReduceOp::Sum},
                         {DataType::Int8, ReduceOp::Sum}},
                        {s == &kWide ? std::size_t{300007} : std::size_t{20011}},
                        false};
      out.push_back({n, *s, {every, big}});
    }
  }
  return out;
}

std::vector<GroupSpec> peer_threads(Wire wire) {
  // The middle setting differs: shm's 256 B slots, tcp's 512 B slots over
  // 2 sockets (each as its own sweep had it; both cut steps into pieces).
  const std::vector<Setting> settings = {
      setting("2ch 128 B chunks, 64 B slots", 2, 128, 64, 1),
      wire == Wire::Shm ? setting("3ch 512 B chunks, 256 B slots", 3, 512, 256, 2)
                        : setting("3ch 1 KiB chunks, 512 B slots", 3, 1024, 512, 2),
      kWide};
  std::vector<DataType> types = {DataType::Float32, DataType::Bfloat16, DataType::Int8,
                                 DataType::Float64, DataType::Uint64};
  if (wire == Wire::Tcp) types.push_back(DataType::Float16);
  std::vector<std::pair<DataType, ReduceOp>> full;
  for (const DataType t : types) {
    for (int o = 0; o < kNumReduceOps; ++o) full.emplace_back(t, static_cast<ReduceOp>(o));
  }
  // tcp on 8 threads: the bytes' path, not the arithmetic (the reduce
  // kernels are swept exhaustively on loopback).
  const std::vector<std::pair<DataType, ReduceOp>> some = {{DataType::Float32, ReduceOp::Sum},
                                                           {DataType::Float32, ReduceOp::Max},
                                                           {DataType::Int8, ReduceOp::Sum},
                                                           {DataType::Int8, ReduceOp::Max}};
  std::vector<GroupSpec> out;
  for (const int n : {2, 3, 4, 8}) {
    for (const Setting& s : settings) {
      const bool wide = s.options.slot_bytes == 0;
      // ucx: the bytes' path at every n (run twice, over two UCX_TLS).
      const bool bytes_path = (wire == Wire::Tcp && n == 8) || wire == Wire::Ucx;
      const Profile sweep{bytes_path ? some : full, {0, 1, 7, 1009}};
      const Profile big{{{DataType::Float32, ReduceOp::Sum}},
                        {wide ? std::size_t{600011} : std::size_t{20011}}};
      out.push_back({n, s, {sweep, big}});
    }
  }
  return out;
}

// An exchange's large count: per-rank traffic near the reducing sweep's
// large cases (alltoall moves n blocks per rank; gather and scatter n
// blocks through the root; the send/recv pattern two messages of about
// `count`).
std::size_t large_count(Collective coll, bool wide) {
  switch (coll) {
    case Collective::AllToAll:
    case Collective::AllToAllv: return wide ? 20011 : 2003;
    case Collective::Gather:
    case Collective::Scatter: return wide ? 100003 : 10007;
    default: return wide ? 300007 : 20011;
  }
}

// Processes run three communicators per job, one per setting, all alive
// at once: GroupSpecs with the same n form one job.
std::vector<GroupSpec> processes(Collective coll) {
  const Setting fifo = setting("4 KiB slots, 8 KiB chunks", 0, 8192, 4096, 2);
  const Setting tiny = setting("3ch 256 B chunks, 128 B slots", 3, 256, 128, 2);
  const std::vector<std::pair<DataType, ReduceOp>> exact = {{DataType::Float32, ReduceOp::Sum},
                                                            {DataType::Float32, ReduceOp::Max},
                                                            {DataType::Int32, ReduceOp::Sum}};
  const bool exchange = is_exchange(coll);
  std::vector<GroupSpec> out;
  for (const int n : {2, 3, 4, 8}) {
    Profile wide{exact, {1, 1000}, false};
    if (n <= 4) wide.counts.push_back((std::size_t{1} << 20) + 3);
    if (exchange) wide = {{exact[0]}, {large_count(coll, true)}, false};
    out.push_back({n, fifo, {process_spread(coll)}});
    out.push_back({n, kWide, {wide}});
    out.push_back({n,
                   tiny,
                   {Profile{exchange ? decltype(exact){exact[0]} : exact,
                            {exchange ? std::size_t{1009} : std::size_t{5003}},
                            false}}});
  }
  return out;
}

// Threads, for the exchanges: loopback at n = 1..9 and 16, every dtype;
// shm and tcp at the reducing sweep's rank counts, a spread of dtypes.
std::vector<GroupSpec> exchange_threads(Wire wire, Collective coll) {
  const std::vector<std::pair<DataType, ReduceOp>> big_kinds = {{DataType::Float32, ReduceOp::Sum},
                                                                {DataType::Bfloat16, ReduceOp::Sum},
                                                                {DataType::Int8, ReduceOp::Sum}};
  std::vector<GroupSpec> out;
  if (wire == Wire::Loopback) {
    const Setting tiny = setting("3ch 64 B chunks, 64 B slots", 3, 64, 64, 1);
    for (const int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16}) {
      for (const Setting* s : {&kWide, &tiny}) {
        const Profile every{{}, {0, 1, 7, 1009}};
        out.push_back({n, *s, {every, {big_kinds, {large_count(coll, s == &kWide)}, false}}});
      }
    }
    return out;
  }
  const Profile spread{{{DataType::Float32, ReduceOp::Sum},
                        {DataType::Bfloat16, ReduceOp::Sum},
                        {DataType::Int8, ReduceOp::Sum},
                        {DataType::Float64, ReduceOp::Sum},
                        {DataType::Uint64, ReduceOp::Sum}},
                       {0, 1, 7, 1009}};
  for (const int n : {2, 3, 4, 8}) {
    for (const Setting& s : {setting("2ch 128 B chunks, 64 B slots", 2, 128, 64, 1), kWide}) {
      const bool wide = s.options.slot_bytes == 0;
      out.push_back({n, s, {spread, {{big_kinds[0]}, {large_count(coll, wide)}, false}}});
    }
  }
  return out;
}

}  // namespace

std::vector<GroupSpec> groups(Wire wire, Launch launch, Collective coll) {
  if (launch == Launch::Processes)
    return wire == Wire::Loopback ? std::vector<GroupSpec>{} : processes(coll);
  if (is_exchange(coll)) return exchange_threads(wire, coll);
  return wire == Wire::Loopback ? loopback_threads() : peer_threads(wire);
}

}  // namespace colossus::test
