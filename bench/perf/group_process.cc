// One rank per process, started by a launcher (colossus-run, torchrun,
// srun, or mpirun with COLOSSUS_BOOTSTRAP_ADDR). Statistics are combined
// with the ranks' own communicator: one small collective per value.
#include <cstring>

#include "perf/group.hpp"

namespace colossus::perf {

namespace {

constexpr std::size_t kLineBytes = 256;

class ProcessGroup final : public GroupProvider {
 public:
  int world_size() const override { return size_; }
  int local_ranks() const override { return 1; }
  int first_rank() const override { return rank_; }
  bool prints() const override { return rank_ == 0; }
  int group_color() const override { return 0; }

  CommList connect(const Options& options) override {
    CommList comms;
    comms.push_back(make_launched_comm(options));
    comm_ = comms.front().get();  // owned by the driver from here on
    rank_ = comm_->rank();
    size_ = comm_->size();
    return comms;
  }

  double combine(double value, Combine how) override {
    double out = value;
    switch (how) {
      case Combine::First: comm_->broadcast(&value, &out, 1, DataType::Float64, 0, nullptr); break;
      case Combine::Sum: reduce(value, &out, ReduceOp::Sum); break;
      case Combine::Min: reduce(value, &out, ReduceOp::Min); break;
      case Combine::Max: reduce(value, &out, ReduceOp::Max); break;
    }
    return out;
  }

  std::vector<std::string> gather_lines(const std::vector<std::string>& lines) override {
    char mine[kLineBytes] = {};
    if (!lines.empty()) std::strncpy(mine, lines.front().c_str(), kLineBytes - 1);
    std::vector<char> all(kLineBytes * static_cast<std::size_t>(size_));
    comm_->allgather(mine, all.data(), kLineBytes, DataType::Int8, nullptr);
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r)
      out.emplace_back(&all[kLineBytes * static_cast<std::size_t>(r)]);
    return out;
  }

 private:
  void reduce(double value, double* out, ReduceOp op) {
    comm_->allreduce(&value, out, 1, DataType::Float64, op, nullptr);
  }

  PerfComm* comm_ = nullptr;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<GroupProvider> make_process_group() { return std::make_unique<ProcessGroup>(); }

}  // namespace colossus::perf
