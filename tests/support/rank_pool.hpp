// rank_pool.hpp: n persistent threads, one per rank of a loopback group.
//
// run(body) calls body(rank) on every rank's thread and returns when all
// have finished, with the first exception of each rank collected (Catch2
// assertions are not thread-safe, so bodies report, the caller asserts).
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace colossus::test {

class RankPool {
 public:
  explicit RankPool(int n) : errors_(static_cast<std::size_t>(n)) {
    for (int r = 0; r < n; ++r) threads_.emplace_back([this, r] { loop(r); });
  }
  ~RankPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  RankPool(const RankPool&) = delete;
  RankPool& operator=(const RankPool&) = delete;

  // Runs body on all ranks; returns "rank r: what()" for each rank that threw.
  std::vector<std::string> run(std::function<void(int)> body) {
    std::unique_lock<std::mutex> lock(mu_);
    body_ = std::move(body);
    pending_ = static_cast<int>(threads_.size());
    for (auto& e : errors_) e.clear();
    ++generation_;
    cv_.notify_all();
    done_cv_.wait(lock, [&] { return pending_ == 0; });
    std::vector<std::string> out;
    for (std::size_t r = 0; r < errors_.size(); ++r) {
      if (!errors_[r].empty()) out.push_back("rank " + std::to_string(r) + ": " + errors_[r]);
    }
    return out;
  }

 private:
  void loop(int rank) {
    unsigned long seen = 0;
    for (;;) {
      std::function<void(int)> body;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
        body = body_;
      }
      std::string error;
      try {
        body(rank);
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::lock_guard<std::mutex> lock(mu_);
      errors_[static_cast<std::size_t>(rank)] = error;
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::function<void(int)> body_;
  unsigned long generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
};

}  // namespace colossus::test
