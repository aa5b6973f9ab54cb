// One rank per process under mpirun, nccl-tests style: MPI starts the
// processes and carries rank 0's unique id to the others; colossus does the
// rest. Compiled with MPI only when CMake found it (COLOSSUS_PERF_MPI).
#include "perf/group.hpp"

#if COLOSSUS_PERF_MPI
#include <mpi.h>

#include <cstring>

namespace colossus::perf {

namespace {

constexpr int kLineBytes = 256;

class MpiGroup final : public GroupProvider {
 public:
  MpiGroup() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiGroup() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int world_size() const override { return size_; }
  int local_ranks() const override { return 1; }
  int first_rank() const override { return rank_; }
  bool prints() const override { return rank_ == 0; }
  int group_color() const override { return 0; }

  CommList connect(const Options& options) override {
    UniqueId id{};
    if (rank_ == 0) id = make_backend_unique_id();
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    CommList comms;
    comms.push_back(make_comm(id, rank_, size_, options));
    return comms;
  }

  double combine(double value, Combine how) override {
    double out = value;
    switch (how) {
      case Combine::First: MPI_Bcast(&out, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD); break;
      case Combine::Sum: MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); break;
      case Combine::Min: MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD); break;
      case Combine::Max: MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); break;
    }
    return out;
  }

  std::vector<std::string> gather_lines(const std::vector<std::string>& lines) override {
    char mine[kLineBytes] = {};
    if (!lines.empty()) std::strncpy(mine, lines.front().c_str(), kLineBytes - 1);
    std::vector<char> all(static_cast<std::size_t>(kLineBytes) * static_cast<std::size_t>(size_));
    MPI_Gather(mine, kLineBytes, MPI_CHAR, all.data(), kLineBytes, MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (rank_ == 0) {
      for (int r = 0; r < size_; ++r)
        out.emplace_back(&all[static_cast<std::size_t>(r) * kLineBytes]);
    }
    return out;
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<GroupProvider> make_mpi_group() { return std::make_unique<MpiGroup>(); }

}  // namespace colossus::perf

#else

namespace colossus::perf {
std::unique_ptr<GroupProvider> make_mpi_group() { return nullptr; }
}  // namespace colossus::perf

#endif
