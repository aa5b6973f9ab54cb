// The pre-multiplied sum (PreMulSum) on loopback ranks: allreduce,
// reduce_scatter and reduce, 1..5 ranks with a different scalar on each,
// every dtype, counts 0, 1 and primes, in place and out of place, each rank
// on its own thread and all ranks driven by one thread inside a group;
// against a float64 reference (each product rounded once to the dtype, as
// the scaling kernel does, then summed with reference.hpp's tolerance). And
// the argument checks.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "collectives/reference.hpp"
#include "colossus/colossus.hpp"
#include "support/rank_pool.hpp"

using namespace colossus;

namespace {

enum class Kind { AllReduce, ReduceScatter, Reduce };
const char* name(Kind k) {
  return k == Kind::AllReduce       ? "allreduce"
         : k == Kind::ReduceScatter ? "reduce_scatter"
                                    : "reduce";
}

// Rank r's scalar, as double (exact in every dtype it is stored in; the int8
// one makes products wrap).
double scalar_value(DataType t, int rank) {
  static const double kFloat[5] = {1.5, -0.5, 2, 0.25, -1};
  static const double kSigned[5] = {3, -2, 5, 100, -1};
  static const double kUnsigned[5] = {3, 2, 5, 100, 1};
  return is_floating(t) ? kFloat[rank] : test::is_signed_int(t) ? kSigned[rank] : kUnsigned[rank];
}

// One rank's buffers and scalar for one call.
struct RankData {
  std::vector<unsigned char> send, recv, scalar;
  std::size_t send_count = 0;
};

struct Case {
  Kind kind;
  DataType t;
  int n;
  std::size_t count;
  bool in_place;
  int root() const { return n - 1; }
};

RankData make_rank(const Case& c, int r) {
  const std::size_t es = dtype_size(c.t);
  RankData d;
  d.send_count = c.kind == Kind::ReduceScatter ? c.count * static_cast<std::size_t>(c.n) : c.count;
  d.send.resize(d.send_count * es + 1);  // + 1: never a null pointer
  for (std::size_t i = 0; i < d.send_count; ++i)
    test::store(c.t, d.send.data(), i, test::input_value(c.t, ReduceOp::Sum, r, i));
  d.recv.assign(c.count * es + 1, 0xab);
  d.scalar.resize(es);
  test::store(c.t, d.scalar.data(), 0, scalar_value(c.t, r));
  return d;
}

// Pointers of rank r's call: in place, send is recv (allreduce, reduce) or
// recv is send's block r (reduce_scatter).
std::pair<const void*, void*> buffers(const Case& c, RankData& d, int r) {
  if (!c.in_place) return {d.send.data(), d.recv.data()};
  if (c.kind == Kind::ReduceScatter)
    return {d.send.data(), d.send.data() + static_cast<std::size_t>(r) * c.count * dtype_size(c.t)};
  std::memcpy(d.recv.data(), d.send.data(), d.send_count * dtype_size(c.t));
  return {d.recv.data(), d.recv.data()};
}

void issue(Communicator& comm, const Case& c, const void* send, void* recv, const void* scalar) {
  const PreMulSum op{scalar};
  switch (c.kind) {
    case Kind::AllReduce: comm.allreduce(send, recv, c.count, c.t, op); break;
    case Kind::ReduceScatter: comm.reduce_scatter(send, recv, c.count, c.t, op); break;
    case Kind::Reduce: comm.reduce(send, recv, c.count, c.t, op, c.root()); break;
  }
}

// Checks every rank's result; returns the first problem, or "".
std::string check(const Case& c, const std::vector<RankData>& original,
                  const std::vector<RankData>& after, const std::vector<void*>& recvs) {
  std::vector<unsigned char> product(8);
  std::vector<double> scaled(static_cast<std::size_t>(c.n));
  for (int r = 0; r < c.n; ++r) {
    const auto& d = after[static_cast<std::size_t>(r)];
    if (!c.in_place && d.send != original[static_cast<std::size_t>(r)].send)
      return "rank " + std::to_string(r) + "'s send buffer changed";
    if (c.kind == Kind::Reduce && r != c.root()) continue;
    for (std::size_t j = 0; j < c.count; ++j) {
      const std::size_t src =
          c.kind == Kind::ReduceScatter ? static_cast<std::size_t>(r) * c.count + j : j;
      for (int q = 0; q < c.n; ++q) {
        const auto& o = original[static_cast<std::size_t>(q)];
        const double x = test::load(c.t, o.send.data(), src);
        test::store(c.t, product.data(), 0, x * test::load(c.t, o.scalar.data(), 0));
        scaled[static_cast<std::size_t>(q)] = test::load(c.t, product.data(), 0);
      }
      const test::Expected e = test::reduce_reference(c.t, ReduceOp::Sum, scaled.data(), c.n);
      const double got = test::load(c.t, recvs[static_cast<std::size_t>(r)], j);
      if (!(std::fabs(got - e.value) <= e.tolerance)) {
        return "rank " + std::to_string(r) + " element " + std::to_string(j) + ": got " +
               std::to_string(got) + ", want " + std::to_string(e.value);
      }
    }
  }
  return "";
}

constexpr std::size_t kCounts[] = {0, 1, 13, 101};

// Every case on 1..5 ranks: each rank on its own thread (grouped: false) or
// all ranks issued by this thread between group_start() and group_end().
void run_all(bool grouped) {
  for (int n = 1; n <= 5; ++n) {
    auto comms = loopback_group(n);
    test::RankPool pool(n);
    for (const Kind kind : {Kind::AllReduce, Kind::ReduceScatter, Kind::Reduce}) {
      for (int ti = 0; ti < kNumDataTypes; ++ti) {
        for (const std::size_t count : kCounts) {
          for (const bool in_place : {false, true}) {
            const Case c{kind, static_cast<DataType>(ti), n, count, in_place};
            std::vector<RankData> data, original;
            for (int r = 0; r < n; ++r) data.push_back(make_rank(c, r));
            original = data;
            std::vector<void*> recvs(static_cast<std::size_t>(n));
            std::vector<const void*> sends(static_cast<std::size_t>(n));
            for (int r = 0; r < n; ++r) {
              auto [s, v] = buffers(c, data[static_cast<std::size_t>(r)], r);
              sends[static_cast<std::size_t>(r)] = s;
              recvs[static_cast<std::size_t>(r)] = v;
            }
            std::vector<std::string> errors;
            if (grouped) {
              group_start();
              for (int r = 0; r < n; ++r) {
                const auto i = static_cast<std::size_t>(r);
                issue(comms[i], c, sends[i], recvs[i], data[i].scalar.data());
              }
              group_end();
            } else {
              errors = pool.run([&](int r) {
                const auto i = static_cast<std::size_t>(r);
                issue(comms[i], c, sends[i], recvs[i], data[i].scalar.data());
              });
            }
            INFO(name(kind) << " " << to_string(c.t) << " n " << n << " count " << count
                            << (in_place ? " in place" : " out of place")
                            << (grouped ? " grouped" : ""));
            REQUIRE(errors.empty());
            const std::string problem = check(c, original, data, recvs);
            INFO(problem);
            CHECK(problem.empty());
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("PreMulSum: every dtype, 1..5 ranks, in and out of place", "[premul]") { run_all(false); }

TEST_CASE("PreMulSum inside a group, one thread driving every rank", "[premul][group]") {
  run_all(true);
}

// Within one group, the scaled inputs (scratch buffers among them) live until
// group_end, and the scalar is the one passed at the call, whatever happens
// to its memory afterwards.
TEST_CASE("PreMulSum in a group keeps its scalar and scratch until group_end", "[premul][group]") {
  const int n = 3;
  auto comms = loopback_group(n);
  const std::size_t c = 7;
  std::vector<std::vector<float>> send(n, std::vector<float>(c * n)), ar(n, std::vector<float>(c)),
      rs(n, std::vector<float>(c)), rd(n, std::vector<float>(c));
  for (int r = 0; r < n; ++r)
    for (std::size_t i = 0; i < c * n; ++i) send[r][i] = float(r + 1) * float(i + 1);
  group_start();
  for (int r = 0; r < n; ++r) {
    float scalar = float(r + 2);  // dies at the end of this iteration
    comms[r].allreduce(send[r].data(), ar[r].data(), c, DataType::Float32, PreMulSum{&scalar});
    comms[r].reduce_scatter(send[r].data(), rs[r].data(), c, DataType::Float32, PreMulSum{&scalar});
    comms[r].reduce(send[r].data(), rd[r].data(), c, DataType::Float32, PreMulSum{&scalar}, 1);
    scalar = -1000;
  }
  group_end();
  // sum_r (r + 2) * (r + 1) * (i + 1) = (2 + 6 + 12) * (i + 1)
  for (int r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < c; ++i) {
      CHECK(ar[r][i] == 20.0f * float(i + 1));
      CHECK(rs[r][i] == 20.0f * float(r * c + i + 1));
      if (r == 1) CHECK(rd[r][i] == 20.0f * float(i + 1));
    }
  }
}

TEST_CASE("PreMulSum argument checks", "[premul]") {
  auto comms = loopback_group(1);
  std::vector<float> a(4, 1), b(4);
  const float s = 2;
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::Success;
  };
  CHECK(code_of([&] {
          comms[0].allreduce(a.data(), b.data(), 4, DataType::Float32, PreMulSum{});
        }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] {
          comms[0].reduce_scatter(a.data(), b.data(), 4, DataType::Float32, PreMulSum{});
        }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] {
          comms[0].reduce(a.data(), b.data(), 4, DataType::Float32, PreMulSum{&s}, 1);
        }) == ErrorCode::InvalidArgument);  // root out of range
  CHECK(code_of([&] {
          comms[0].allreduce(nullptr, b.data(), 4, DataType::Float32, PreMulSum{&s});
        }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] {
          comms[0].allreduce(a.data(), b.data(), 4, static_cast<DataType>(99), PreMulSum{&s});
        }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] {
          comms[0].allreduce(a.data(), a.data() + 1, 3, DataType::Float32, PreMulSum{&s});
        }) == ErrorCode::InvalidArgument);  // partial overlap
  // A bad call inside a group fails at the call, and the group still runs the rest.
  group_start();
  CHECK(code_of([&] {
          comms[0].allreduce(a.data(), b.data(), 4, DataType::Float32, PreMulSum{});
        }) == ErrorCode::InvalidArgument);
  comms[0].allreduce(a.data(), b.data(), 4, DataType::Float32, PreMulSum{&s});
  group_end();
  CHECK(b == std::vector<float>(4, 2));
  CHECK(a == std::vector<float>(4, 1));
  // A destroyed communicator.
  comms[0].destroy();
  CHECK(code_of([&] {
          comms[0].allreduce(a.data(), b.data(), 4, DataType::Float32, PreMulSum{&s});
        }) == ErrorCode::InvalidUsage);
}
