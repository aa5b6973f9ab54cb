// device_cases.hpp: one collective call on device buffers, staged, enqueued
// and checked, for device_comm_test (ranks as threads) and device_worker
// (ranks as processes).
//
// Inputs are exact by construction, so every output is compared for
// equality with a float64 host reference (tests/collectives/reference.hpp):
//   Sum, Min, Max   small integers, |x| <= A with n*A within the integers
//                   the dtype holds exactly (fp8 e4m3: 16, e5m2: 8, bf16:
//                   256, ...), so every partial sum in every order is exact
//   Avg (floats)    b + (+1 on even ranks, -1 on odd): the sum is n*b, the
//                   quotient b (n even); integers: the reference truncates
//   Prod            floats: +-1, 2, 1/2 (partial products within 2^-8..2^8);
//                   integers: -2..2 (or 0..3) and wrap as the library does
//   gather/copy     anything representable: (h % 4096 - 2048) / 8 rounded
//                   to the dtype (integers wrap)
//
// A case's buffers sit at the start of two per-rank device pools, "send"
// and "recv"; in place, only the recv pool is used. Misaligned: the buffer
// starts one element past the pool's start. The whole recv region plus a
// 16-byte guard is filled with 0xEE bytes first, and after the call the
// bytes outside the region must still be 0xEE (no write out of bounds), as
// must a non-root's recv of an out-of-place reduce (recv is written on the
// root only).
//
// Host <-> device copies are cudaMemcpyAsync / cudaMemsetAsync on the rank's
// (non-blocking) stream, never the synchronous cudaMemcpy: that one runs on
// the legacy stream, which a non-blocking stream does not wait for, and an
// upload from pageable memory may return before its DMA lands.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "collectives/reference.hpp"
#include "colossus/colossus.hpp"
#include "support/values.hpp"

namespace colossus::test::device {

// For INFO() and timings.
inline std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

enum class Coll { AllReduce, AllGather, ReduceScatter, Broadcast, Reduce };

inline const char* name(Coll c) {
  switch (c) {
    case Coll::AllReduce: return "allreduce";
    case Coll::AllGather: return "allgather";
    case Coll::ReduceScatter: return "reduce_scatter";
    case Coll::Broadcast: return "broadcast";
    case Coll::Reduce: return "reduce";
  }
  return "?";
}

inline bool reduces(Coll c) {
  return c == Coll::AllReduce || c == Coll::ReduceScatter || c == Coll::Reduce;
}

inline constexpr DataType kAllTypes[] = {
    DataType::Int8,    DataType::Uint8,    DataType::Int32,      DataType::Uint32,
    DataType::Int64,   DataType::Uint64,   DataType::Float16,    DataType::Float32,
    DataType::Float64, DataType::Bfloat16, DataType::Float8e4m3, DataType::Float8e5m2};

struct Case {
  Coll coll = Coll::AllReduce;
  DataType dtype = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;
  std::size_t count = 0;
  int root = 0;
  bool in_place = false;
  bool misaligned = false;
  bool null_buffers = false;  // count 0 only: pass nullptr for both buffers
  std::uint64_t seed = 1;     // varies the inputs (graph replays, repeated shapes)

  std::string describe() const {
    std::string s = name(coll);
    s.append(" ").append(to_string(dtype));
    if (reduces(coll)) s.append(" ").append(to_string(op));
    s.append(" count ").append(std::to_string(count));
    if (coll == Coll::Broadcast || coll == Coll::Reduce)
      s.append(" root ").append(std::to_string(root));
    s.append(in_place ? ", in place" : ", out of place");
    s.append(misaligned ? ", misaligned (+1 element)" : ", aligned");
    if (null_buffers) s.append(", null buffers");
    s.append(", seed ").append(std::to_string(seed));
    return s;
  }
};

// ---- Inputs and expected values --------------------------------------------

inline std::uint64_t mix(std::uint64_t seed, int rank, std::size_t j) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(rank) * 1000003ull +
                    static_cast<std::uint64_t>(j) * 7919ull;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return x;
}

// The largest integer below which every integer is exact in t (floats).
inline double exact_integers(DataType t) {
  switch (t) {
    case DataType::Float16: return 2048;
    case DataType::Bfloat16: return 256;
    case DataType::Float32: return 16777216.0;
    case DataType::Float64: return 9007199254740992.0;
    case DataType::Float8e4m3: return 16;
    case DataType::Float8e5m2: return 8;
    default: return 0;
  }
}

// |input| bound of a reducing case, so that n inputs sum exactly.
inline int amplitude(DataType t, int n) {
  if (!is_floating(t)) return 8;
  return std::max(1, std::min(8, static_cast<int>(exact_integers(t) / n)));
}

// Element j of rank r's send buffer for a reducing collective.
inline double reduce_input(DataType t, ReduceOp op, int n, int r, std::size_t j,
                           std::uint64_t seed) {
  const std::uint64_t h = mix(seed, r, j);
  if (op == ReduceOp::Prod) {
    if (is_floating(t)) {
      static constexpr double kPow2[4] = {1, -1, 2, 0.5};
      return kPow2[h % 4];
    }
    return is_signed_int(t) ? static_cast<double>(h % 5) - 2 : static_cast<double>(h % 4);
  }
  if (!is_floating(t)) {
    return is_signed_int(t) ? static_cast<double>(h % 17) - 8 : static_cast<double>(h % 17);
  }
  const int a = amplitude(t, n);
  if (op == ReduceOp::Avg) {  // b + (+-1): the n (even) offsets cancel
    const int b = a > 1 ? static_cast<int>(h % static_cast<std::uint64_t>(2 * a - 1)) - (a - 1) : 0;
    return b + (r % 2 == 0 ? 1 : -1);
  }
  return static_cast<double>(static_cast<int>(h % static_cast<std::uint64_t>(2 * a + 1)) - a);
}

// v as stored in t (rounded, or wrapped), read back exactly.
inline double round_trip(DataType t, double v) {
  alignas(8) unsigned char cell[8] = {};
  store(t, cell, 0, v);
  return load(t, cell, 0);
}

// Element j of rank r's send buffer for allgather and broadcast.
inline double plain_input(DataType t, int r, std::size_t j, std::uint64_t seed) {
  const std::uint64_t h = mix(seed ^ 0x5bd1e995ull, r, j);
  const double v = static_cast<double>(static_cast<std::int64_t>(h % 4096) - 2048);
  return round_trip(t, is_floating(t) ? v / 8 : v);
}

inline double input(const Case& c, int n, int r, std::size_t j) {
  return reduces(c.coll) ? reduce_input(c.dtype, c.op, n, r, j, c.seed)
                         : plain_input(c.dtype, r, j, c.seed);
}

// The reduction over ranks of element j of every rank's send buffer.
inline double reduced(const Case& c, int n, std::size_t j) {
  double x[64] = {};
  for (int r = 0; r < n; ++r) x[r] = reduce_input(c.dtype, c.op, n, r, j, c.seed);
  return reduce_reference(c.dtype, c.op, x, n).value;
}

// ---- Buffers ---------------------------------------------------------------

inline constexpr std::size_t kGuard = 16;
inline constexpr unsigned char kFill = 0xEE;

struct Layout {
  std::size_t esize = 0, off = 0;
  std::size_t send_elems = 0, recv_elems = 0;
  std::size_t region_elems = 0;     // what recv_pool + off holds for this call
  const std::byte* send = nullptr;  // as passed to the call
  std::byte* recv = nullptr;
  std::byte* region = nullptr;  // recv_pool + off
  std::byte* recv_pool = nullptr;
  std::byte* upload = nullptr;  // where this rank's input goes (null: none)
  std::size_t upload_elems = 0;
  std::size_t recv_at = 0;  // recv's element offset within the region
  std::size_t bytes_fetched() const { return off + region_elems * esize + kGuard; }
};

// Bytes of the send and recv pools this case needs on every rank.
inline std::size_t send_pool_bytes(const Case& c, int n) {
  const std::size_t es = dtype_size(c.dtype);
  const std::size_t elems = c.coll == Coll::ReduceScatter ? n * c.count : c.count;
  return es + elems * es + kGuard;
}
inline std::size_t recv_pool_bytes(const Case& c, int n) {
  const std::size_t es = dtype_size(c.dtype);
  const std::size_t elems =
      (c.coll == Coll::ReduceScatter || c.coll == Coll::AllGather) ? n * c.count : c.count;
  return es + elems * es + kGuard;
}

inline Layout layout(const Case& c, int n, int rank, std::byte* send_pool, std::byte* recv_pool) {
  Layout l;
  l.esize = dtype_size(c.dtype);
  l.off = c.misaligned ? l.esize : 0;
  l.send_elems = c.coll == Coll::ReduceScatter ? n * c.count : c.count;
  l.recv_elems = c.coll == Coll::AllGather ? n * c.count : c.count;
  l.recv_pool = recv_pool;
  l.region = recv_pool + l.off;
  const std::size_t mine = static_cast<std::size_t>(rank) * c.count;
  if (c.in_place) {
    l.region_elems = std::max(l.send_elems, l.recv_elems);
    switch (c.coll) {
      case Coll::AllGather:
        l.recv = l.region;
        l.send = l.region + mine * l.esize;
        break;
      case Coll::ReduceScatter:
        l.send = l.region;
        l.recv = l.region + mine * l.esize;
        l.recv_at = mine;
        break;
      default: l.send = l.recv = l.region; break;
    }
  } else {
    l.region_elems = l.recv_elems;
    l.send = send_pool + l.off;
    l.recv = l.region;
  }
  const bool has_input = c.coll != Coll::Broadcast || rank == c.root;
  if (has_input) {
    l.upload = const_cast<std::byte*>(l.send);
    l.upload_elems = l.send_elems;
  }
  if (c.null_buffers) l.send = l.recv = nullptr;
  return l;
}

inline void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e) + " (" +
                             cudaGetErrorString(e) + ")");
  }
}

// One case on one rank: stage (fill, upload), enqueue, fetch, verify.
struct Call {
  Case c;
  int n = 0, rank = 0;
  Layout l;
  std::vector<std::byte> staged;  // this rank's input, kept until the stream ran the upload
  std::vector<std::byte> got;     // the recv region and its guards, fetched
  std::vector<std::byte> sent;    // out of place: the send buffer after the call

  Call(const Case& c_, int n_, int rank_, std::byte* send_pool, std::byte* recv_pool)
      : c(c_), n(n_), rank(rank_), l(layout(c_, n_, rank_, send_pool, recv_pool)) {}

  // Fills the recv region (and guards) with kFill, then uploads the input.
  void stage(cudaStream_t s) {
    cuda_ok(cudaMemsetAsync(l.recv_pool, kFill, l.bytes_fetched(), s), "cudaMemsetAsync");
    if (l.upload == nullptr || l.upload_elems == 0) return;
    staged.assign(l.upload_elems * l.esize, std::byte{0});
    for (std::size_t j = 0; j < l.upload_elems; ++j)
      store(c.dtype, staged.data(), j, input(c, n, rank, j));
    cuda_ok(cudaMemcpyAsync(l.upload, staged.data(), staged.size(), cudaMemcpyHostToDevice, s),
            "cudaMemcpyAsync (upload)");
  }

  void enqueue(Communicator& comm, cudaStream_t s) const {
    switch (c.coll) {
      case Coll::AllReduce: comm.allreduce(l.send, l.recv, c.count, c.dtype, c.op, s); break;
      case Coll::AllGather: comm.allgather(l.send, l.recv, c.count, c.dtype, s); break;
      case Coll::ReduceScatter:
        comm.reduce_scatter(l.send, l.recv, c.count, c.dtype, c.op, s);
        break;
      case Coll::Broadcast: comm.broadcast(l.send, l.recv, c.count, c.dtype, c.root, s); break;
      case Coll::Reduce: comm.reduce(l.send, l.recv, c.count, c.dtype, c.op, c.root, s); break;
    }
  }

  // Enqueues the download; the caller synchronizes the stream before verify().
  void fetch(cudaStream_t s) {
    got.assign(l.bytes_fetched(), std::byte{0});
    cuda_ok(cudaMemcpyAsync(got.data(), l.recv_pool, got.size(), cudaMemcpyDeviceToHost, s),
            "cudaMemcpyAsync (download)");
    sent.clear();
    if (!c.in_place && !staged.empty()) {
      sent.assign(staged.size(), std::byte{0});
      cuda_ok(cudaMemcpyAsync(sent.data(), l.upload, sent.size(), cudaMemcpyDeviceToHost, s),
              "cudaMemcpyAsync (download of send)");
    }
  }

  // Problems found, at most `limit` lines ("" = all correct).
  std::vector<std::string> verify(std::size_t limit = 4) const {
    std::vector<std::string> out;
    std::size_t bad = 0;
    auto report = [&](const std::string& what) {
      if (out.size() < limit) out.push_back(what);
      ++bad;
    };
    const auto* bytes = reinterpret_cast<const unsigned char*>(got.data());
    const std::size_t region_bytes = l.region_elems * l.esize;
    for (std::size_t b = 0; b < l.off; ++b) {
      if (bytes[b] != kFill) {
        report("byte " + std::to_string(b) + " before the buffer was written");
        break;
      }
    }
    for (std::size_t b = l.off + region_bytes; b < got.size(); ++b) {
      if (bytes[b] != kFill) {
        report("guard byte " + std::to_string(b - l.off - region_bytes) +
               " after the buffer was written");
        break;
      }
    }
    const std::byte* region = got.data() + l.off;
    auto expect = [&](std::size_t elem, double want) {
      const double have = load(c.dtype, region, elem);
      if (have == want) return;
      if (out.size() >= limit) {  // counted, not described (a wrong 2^20-element result stays fast)
        ++bad;
        return;
      }
      report("element " + std::to_string(elem) + ": got " + std::to_string(have) + ", want " +
             std::to_string(want));
    };
    auto untouched = [&](std::size_t from, std::size_t elems, const char* what) {
      for (std::size_t b = from * l.esize; b < (from + elems) * l.esize; ++b) {
        if (reinterpret_cast<const unsigned char*>(region)[b] != kFill) {
          report(std::string(what) + ": byte " + std::to_string(b) + " was written");
          return;
        }
      }
    };
    switch (c.coll) {
      case Coll::AllReduce:
        for (std::size_t i = 0; i < c.count; ++i) expect(i, reduced(c, n, i));
        break;
      case Coll::Reduce:
        if (rank == c.root) {
          for (std::size_t i = 0; i < c.count; ++i) expect(i, reduced(c, n, i));
        } else if (c.in_place) {  // recv == send on a non-root: still the input
          for (std::size_t i = 0; i < c.count; ++i) expect(i, input(c, n, rank, i));
        } else {
          untouched(0, c.count, "non-root recv of an out-of-place reduce");
        }
        break;
      case Coll::ReduceScatter:
        for (std::size_t i = 0; i < c.count; ++i) {
          expect(l.recv_at + i, reduced(c, n, static_cast<std::size_t>(rank) * c.count + i));
        }
        break;
      case Coll::AllGather:
        for (int q = 0; q < n; ++q) {
          for (std::size_t i = 0; i < c.count; ++i)
            expect(static_cast<std::size_t>(q) * c.count + i, input(c, n, q, i));
        }
        break;
      case Coll::Broadcast:
        for (std::size_t i = 0; i < c.count; ++i) expect(i, input(c, n, c.root, i));
        break;
    }
    if (!sent.empty() && std::memcmp(sent.data(), staged.data(), sent.size()) != 0) {
      std::size_t b = 0;
      while (sent[b] == staged[b]) ++b;
      report("the send buffer (read only) changed at element " + std::to_string(b / l.esize));
    }
    if (bad > out.size()) out.push_back("... " + std::to_string(bad - out.size()) + " more");
    return out;
  }
};

}  // namespace colossus::test::device
