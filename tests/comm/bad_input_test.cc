// Bad input: every public call rejects it with a clear Error, never a crash.
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "colossus/colossus.hpp"

using colossus::Communicator;
using colossus::DataType;
using colossus::Error;
using colossus::ErrorCode;
using colossus::ReduceOp;

namespace {

// Runs `call`, requires it to throw Error with `code` and a message naming `words`.
template <typename F>
void expect_error(F&& call, ErrorCode code, const std::string& words) {
  try {
    call();
    FAIL("no error thrown; expected " << colossus::to_string(code) << " mentioning '" << words
                                      << "'");
  } catch (const Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(words) != std::string::npos);
  }
}

const auto kBadType = static_cast<DataType>(42);
const auto kBadOp = static_cast<ReduceOp>(9);
constexpr std::size_t kHuge = SIZE_MAX / 2;

}  // namespace

TEST_CASE("null buffers with a nonzero count are rejected", "[bad-input]") {
  auto comms = colossus::loopback_group(1);
  Communicator& c = comms[0];
  float buf[4] = {};
  expect_error([&] { c.allreduce(nullptr, buf, 4, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "sendbuff is null");
  expect_error([&] { c.allreduce(buf, nullptr, 4, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "recvbuff is null");
  expect_error([&] { c.allgather(nullptr, buf, 4, DataType::Float32); }, ErrorCode::InvalidArgument,
               "allgather: sendbuff is null");
  expect_error([&] { c.reduce_scatter(buf, nullptr, 4, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "reduce_scatter: recvbuff is null");
  expect_error([&] { c.broadcast(nullptr, buf, 4, DataType::Float32, 0); },
               ErrorCode::InvalidArgument, "broadcast: sendbuff is null");
  expect_error([&] { c.reduce(buf, nullptr, 4, DataType::Float32, ReduceOp::Sum, 0); },
               ErrorCode::InvalidArgument, "reduce: recvbuff is null");
  // A zero count needs no buffers at all.
  CHECK_NOTHROW(c.allreduce(nullptr, nullptr, 0, DataType::Float32, ReduceOp::Sum));
  CHECK_NOTHROW(c.allgather(nullptr, nullptr, 0, DataType::Int8));
}

TEST_CASE("unknown data types and ops are rejected", "[bad-input]") {
  auto comms = colossus::loopback_group(1);
  Communicator& c = comms[0];
  float buf[4] = {};
  expect_error([&] { c.allreduce(buf, buf, 4, kBadType, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "unknown data type 42");
  expect_error([&] { c.allgather(buf, buf, 1, static_cast<DataType>(-1)); },
               ErrorCode::InvalidArgument, "unknown data type -1");
  expect_error([&] { c.allreduce(buf, buf, 4, DataType::Float32, kBadOp); },
               ErrorCode::InvalidArgument, "unknown reduction op 9");
  expect_error([&] { c.reduce_scatter(buf, buf, 4, DataType::Float32, kBadOp); },
               ErrorCode::InvalidArgument, "unknown reduction op");
  expect_error([&] { c.reduce(buf, buf, 4, DataType::Float32, kBadOp, 0); },
               ErrorCode::InvalidArgument, "unknown reduction op");
}

TEST_CASE("roots out of range are rejected", "[bad-input]") {
  auto comms = colossus::loopback_group(1);
  Communicator& c = comms[0];
  float buf[4] = {};
  for (int root : {-1, 1, 1 << 30}) {
    expect_error([&] { c.broadcast(buf, buf, 4, DataType::Float32, root); },
                 ErrorCode::InvalidArgument, "root " + std::to_string(root) + " out of range");
    expect_error([&] { c.reduce(buf, buf, 4, DataType::Float32, ReduceOp::Max, root); },
                 ErrorCode::InvalidArgument, "out of range [0, 1)");
  }
}

TEST_CASE("byte counts that overflow size_t are rejected", "[bad-input]") {
  auto comms = colossus::loopback_group(2);
  Communicator& c = comms[0];
  float buf[4] = {};
  expect_error([&] { c.allreduce(buf, buf, kHuge, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "overflows the byte count");
  expect_error([&] { c.broadcast(buf, buf, SIZE_MAX, DataType::Int8, 0); },
               ErrorCode::InvalidArgument, "overflows");
  // count * nranks overflows even though count * 8 alone would not.
  expect_error([&] { c.allgather(buf, buf, PTRDIFF_MAX / 2 + 1, DataType::Int8); },
               ErrorCode::InvalidArgument, "times 2 ranks overflows");
  expect_error([&] { c.reduce_scatter(buf, buf, SIZE_MAX / 16, DataType::Float64, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "overflows");
  // Fits size_t but wraps the address space from this pointer.
  auto* high = reinterpret_cast<float*>(UINTPTR_MAX - 64);
  expect_error([&] { c.allreduce(buf, high, 1u << 20, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "wraps the address space");
}

TEST_CASE("buffers overlapping other than in place are rejected", "[bad-input]") {
  auto comms = colossus::loopback_group(1);
  Communicator& c = comms[0];
  float buf[16] = {};
  expect_error([&] { c.allreduce(buf, buf + 1, 8, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidArgument, "overlap");
  expect_error([&] { c.allgather(buf + 2, buf, 4, DataType::Float32); }, ErrorCode::InvalidArgument,
               "overlap");
  // The in-place arrangements themselves are accepted.
  CHECK_NOTHROW(c.allreduce(buf, buf, 8, DataType::Float32, ReduceOp::Sum));
  CHECK_NOTHROW(c.allgather(buf, buf, 4, DataType::Float32));
  CHECK_NOTHROW(c.reduce_scatter(buf, buf, 4, DataType::Float32, ReduceOp::Sum));
}

TEST_CASE("calls on a destroyed or empty communicator are rejected", "[bad-input]") {
  auto comms = colossus::loopback_group(1);
  Communicator& c = comms[0];
  float buf[4] = {};
  c.destroy();
  CHECK_FALSE(c.valid());
  expect_error([&] { c.allreduce(buf, buf, 4, DataType::Float32, ReduceOp::Sum); },
               ErrorCode::InvalidUsage, "allreduce: communicator is destroyed");
  expect_error([&] { c.broadcast(buf, buf, 4, DataType::Float32, 0); }, ErrorCode::InvalidUsage,
               "broadcast: communicator is destroyed");
  expect_error([&] { (void)c.rank(); }, ErrorCode::InvalidUsage, "rank");
  CHECK_NOTHROW(c.destroy());  // twice is harmless

  Communicator empty;
  expect_error([&] { empty.allgather(buf, buf, 1, DataType::Float32); }, ErrorCode::InvalidUsage,
               "never initialized");
  auto more = colossus::loopback_group(1);
  Communicator moved = std::move(more[0]);
  CHECK(moved.valid());
  expect_error([&] { more[0].reduce(buf, buf, 4, DataType::Float32, ReduceOp::Sum, 0); },
               ErrorCode::InvalidUsage, "reduce");
}

TEST_CASE("group creation rejects bad sizes and options", "[bad-input]") {
  for (int n : {0, -3, 1 << 20}) {
    expect_error([&] { colossus::loopback_group(n); }, ErrorCode::InvalidArgument,
                 "loopback_group: n = " + std::to_string(n));
  }
  colossus::Options o;
  o.nchannels = 65;
  expect_error([&] { colossus::loopback_group(2, o); }, ErrorCode::InvalidArgument, "nchannels");
  o = {};
  o.chunk_bytes = 3;
  expect_error([&] { colossus::loopback_group(2, o); }, ErrorCode::InvalidArgument, "chunk_bytes");
  o = {};
  o.slot_bytes = 8;
  expect_error([&] { colossus::loopback_group(2, o); }, ErrorCode::InvalidArgument, "slot_bytes");
  o = {};
  o.timeout_s = -1;
  expect_error([&] { colossus::loopback_group(2, o); }, ErrorCode::InvalidArgument, "timeout_s");
}

TEST_CASE("a rank that never joins becomes a timeout error on every other rank", "[bad-input]") {
  colossus::Options o;
  o.timeout_s = 0.5;
  auto comms = colossus::loopback_group(4, o);
  std::vector<std::string> errors(3);
  std::vector<ErrorCode> codes(3, ErrorCode::Success);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {  // rank 3 stays away
    threads.emplace_back([&, r] {
      std::vector<float> x(4096, 1.0f);
      try {
        comms[static_cast<std::size_t>(r)].allreduce(x.data(), x.data(), x.size(),
                                                     DataType::Float32, ReduceOp::Sum);
      } catch (const Error& e) {
        codes[static_cast<std::size_t>(r)] = e.code();
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(waited < 10);
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r << ": " << errors[static_cast<std::size_t>(r)]);
    CHECK(codes[static_cast<std::size_t>(r)] == ErrorCode::Timeout);
    CHECK(errors[static_cast<std::size_t>(r)].find("COLOSSUS_TIMEOUT_S") != std::string::npos);
  }
}
