// thread_oob.hpp: OutOfBand for ranks that are threads of one process.
//
// ThreadOobGroup holds the shared state; oob(r) is rank r's endpoint. Calls
// are collective across the group's threads, like the real bootstrap's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bootstrap/oob.hpp"
#include "colossus/error.hpp"

namespace colossus::test {

class ThreadOobGroup {
 public:
  explicit ThreadOobGroup(int n, double timeout_s = 30)
      : n_(n),
        timeout_(timeout_s),
        secret_(std::random_device{}() * 0x9E3779B97F4A7C15ull + 1),
        slots_(static_cast<std::size_t>(n)) {
    for (int r = 0; r < n; ++r) endpoints_.push_back(std::make_unique<Endpoint>(this, r));
  }
  bootstrap::OutOfBand& oob(int rank) { return *endpoints_[static_cast<std::size_t>(rank)]; }

 private:
  class Endpoint final : public bootstrap::OutOfBand {
   public:
    Endpoint(ThreadOobGroup* g, int r) : g_(g), r_(r) {}
    int rank() const override { return r_; }
    int nranks() const override { return g_->n_; }
    uint64_t job_secret() const override { return g_->secret_; }
    std::vector<std::string> allgather(const std::string& mine) override {
      return g_->exchange(r_, mine);
    }
    std::string broadcast(const std::string& blob, int root) override {
      return g_->exchange(r_, blob)[static_cast<std::size_t>(root)];
    }
    void barrier() override { g_->exchange(r_, ""); }

   private:
    ThreadOobGroup* g_;
    int r_;
  };

  // A reusable rendezvous: the last arrival publishes the round's blobs.
  std::vector<std::string> exchange(int rank, const std::string& mine) {
    std::unique_lock<std::mutex> lock(mu_);
    const unsigned long round = round_;
    slots_[static_cast<std::size_t>(rank)] = mine;
    if (++arrived_ == n_) {
      result_ = slots_;
      arrived_ = 0;
      ++round_;
      cv_.notify_all();
      return result_;
    }
    if (!cv_.wait_for(lock, std::chrono::duration<double>(timeout_),
                      [&] { return round_ != round; })) {
      throw Error(ErrorCode::Timeout, "thread oob: rank " + std::to_string(rank) +
                                          " waited too long for the other ranks");
    }
    return result_;
  }

  int n_;
  double timeout_;
  uint64_t secret_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> slots_, result_;
  int arrived_ = 0;
  unsigned long round_ = 0;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

}  // namespace colossus::test
