#include "perf/group.hpp"

namespace colossus::perf {

namespace {

// Every rank lives here: nothing to combine across processes.
class ThreadGroup final : public GroupProvider {
 public:
  explicit ThreadGroup(int nthreads) : nthreads_(nthreads) {}

  int world_size() const override { return nthreads_; }
  int local_ranks() const override { return nthreads_; }
  int first_rank() const override { return 0; }
  bool prints() const override { return true; }
  int group_color() const override { return 0; }

  CommList connect(const Options& options) override { return make_local_comms(nthreads_, options); }
  double combine(double value, Combine) override { return value; }
  std::vector<std::string> gather_lines(const std::vector<std::string>& lines) override {
    return lines;
  }

 private:
  int nthreads_;
};

}  // namespace

std::unique_ptr<GroupProvider> make_thread_group(int nthreads) {
  return std::make_unique<ThreadGroup>(nthreads);
}

}  // namespace colossus::perf
