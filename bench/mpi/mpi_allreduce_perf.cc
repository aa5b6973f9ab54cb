// mpi_allreduce_perf: the Open MPI peer of all_reduce_perf.
//
// Times MPI_Allreduce with the same flags, size stepping, timing loop and
// table as all_reduce_perf, so the two run side by side on one machine in
// one run and their busbw columns compare directly. Launch with mpirun.
// MPI has no fp16/bf16/fp8 types and no avg op: those are skipped with a
// comment line.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "mpi_peer.hpp"

using colossus::DataType;
using colossus::ReduceOp;
using namespace colossus::perf;

namespace {

MPI_Datatype mpi_type(DataType t) {
  switch (t) {
    case DataType::Int8: return MPI_INT8_T;
    case DataType::Uint8: return MPI_UINT8_T;
    case DataType::Int32: return MPI_INT32_T;
    case DataType::Uint32: return MPI_UINT32_T;
    case DataType::Int64: return MPI_INT64_T;
    case DataType::Uint64: return MPI_UINT64_T;
    case DataType::Float32: return MPI_FLOAT;
    case DataType::Float64: return MPI_DOUBLE;
    default: return MPI_DATATYPE_NULL;
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return MPI_SUM;
    case ReduceOp::Prod: return MPI_PROD;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
    default: return MPI_OP_NULL;
  }
}

// Small integers, exact under every op and type MPI supports here.
double input(int rank, std::size_t i, ReduceOp op) {
  if (op == ReduceOp::Prod) return ((rank + i) % 7 == 0) ? 2 : 1;
  return static_cast<double>((rank * 3 + i) % 5);
}

template <typename T>
void fill(std::vector<unsigned char>& buf, std::size_t count, int rank, ReduceOp op) {
  T* p = reinterpret_cast<T*>(buf.data());
  for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<T>(input(rank, i, op));
}

template <typename T>
long long wrong(const std::vector<unsigned char>& buf, std::size_t count, int nranks, ReduceOp op) {
  const T* p = reinterpret_cast<const T*>(buf.data());
  long long bad = 0;
  for (std::size_t i = 0; i < count; ++i) {
    double e = op == ReduceOp::Prod ? 1 : input(0, i, op);
    for (int r = (op == ReduceOp::Prod ? 0 : 1); r < nranks; ++r) {
      const double v = input(r, i, op);
      e = op == ReduceOp::Sum    ? e + v
          : op == ReduceOp::Prod ? e * v
          : op == ReduceOp::Max  ? std::max(e, v)
                                 : std::min(e, v);
    }
    if (static_cast<double>(p[i]) != static_cast<T>(e)) ++bad;
  }
  return bad;
}

void fill_any(DataType t, std::vector<unsigned char>& b, std::size_t n, int rank, ReduceOp op) {
  switch (t) {
    case DataType::Int8: fill<int8_t>(b, n, rank, op); break;
    case DataType::Uint8: fill<uint8_t>(b, n, rank, op); break;
    case DataType::Int32: fill<int32_t>(b, n, rank, op); break;
    case DataType::Uint32: fill<uint32_t>(b, n, rank, op); break;
    case DataType::Int64: fill<int64_t>(b, n, rank, op); break;
    case DataType::Uint64: fill<uint64_t>(b, n, rank, op); break;
    case DataType::Float64: fill<double>(b, n, rank, op); break;
    default: fill<float>(b, n, rank, op); break;
  }
}

long long wrong_any(DataType t, const std::vector<unsigned char>& b, std::size_t n, int nranks,
                    ReduceOp op) {
  switch (t) {
    case DataType::Int8: return wrong<int8_t>(b, n, nranks, op);
    case DataType::Uint8: return wrong<uint8_t>(b, n, nranks, op);
    case DataType::Int32: return wrong<int32_t>(b, n, nranks, op);
    case DataType::Uint32: return wrong<uint32_t>(b, n, nranks, op);
    case DataType::Int64: return wrong<int64_t>(b, n, nranks, op);
    case DataType::Uint64: return wrong<uint64_t>(b, n, nranks, op);
    case DataType::Float64: return wrong<double>(b, n, nranks, op);
    default: return wrong<float>(b, n, nranks, op);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rank = 0, nranks = 1, exit_code = 0;
  const auto parsed = mpi::start(&argc, &argv, &rank, &nranks, &exit_code);
  if (!parsed) return exit_code;
  PerfOptions o = *parsed;

  Report report(false);
  mpi::print_header(o, report, "MPI_Allreduce");

  long long errors = 0;
  const double factor = 2.0 * (nranks - 1) / nranks;
  // Calls walk through buffers of the largest size, as all_reduce_perf's do.
  std::vector<unsigned char> send(o.max_bytes + 16), recv(o.max_bytes + 16);
  for (DataType t : o.types) {
    for (ReduceOp op : o.ops) {
      if (mpi_type(t) == MPI_DATATYPE_NULL || mpi_op(op) == MPI_OP_NULL) {
        if (rank == 0) {
          std::printf("# %s %s: not an MPI type/op, skipped\n", std::string(to_string(t)).c_str(),
                      std::string(to_string(op)).c_str());
        }
        continue;
      }
      const std::size_t es = colossus::dtype_size(t);
      for (std::size_t bytes : size_steps(o)) {
        const std::size_t count = bytes / es;
        const int icount = static_cast<int>(count);
        if (rank == 0) {
          report.row_start(count * es, count, std::string(to_string(t)).c_str(),
                           std::string(to_string(op)).c_str(), -1);
        }
        for (bool in_place : {false, true}) {
          auto call = [&](int iter) {
            const std::size_t at = rotation_offset(count * es, o.max_bytes, iter);
            MPI_Allreduce(in_place ? MPI_IN_PLACE : send.data() + at, recv.data() + at, icount,
                          mpi_type(t), mpi_op(op), MPI_COMM_WORLD);
          };
          fill_any(t, send, count, rank, op);
          fill_any(t, recv, count, rank, op);
          for (int i = 0; i < o.warmup_iters; ++i) call(i);
          MPI_Barrier(MPI_COMM_WORLD);
          const double t0 = MPI_Wtime();
          for (int i = 0; i < o.iters * o.agg_iters; ++i) call(i);
          const double secs =
              mpi::combine_time((MPI_Wtime() - t0) / (o.iters * o.agg_iters), o.average, nranks);
          long long bad = -1;
          if (o.check) {
            fill_any(t, send, count, rank, op);
            fill_any(t, recv, count, rank, op);  // in place: recv holds the input
            call(0);
            long long mine_bad = wrong_any(t, recv, count, nranks, op);
            MPI_Allreduce(&mine_bad, &bad, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
            errors += bad;
          }
          const double algbw = secs > 0 ? static_cast<double>(count * es) / secs / 1e9 : 0;
          if (rank == 0) report.result(secs, algbw, algbw * factor, bad);
        }
        if (rank == 0) report.row_end();
      }
    }
  }
  bool ok = true;
  if (rank == 0) ok = report.summary(errors);
  MPI_Finalize();
  return ok ? 0 : 1;
}
