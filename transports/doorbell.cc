// Doorbell: an epoch counter with futex sleep. Not FUTEX_PRIVATE: a doorbell
// may live in shared memory and be rung from another process.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

#include "transports/transport.hpp"

namespace colossus::transport {

namespace {
long futex(std::atomic<uint32_t>* addr, int op, uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), op, val, timeout, nullptr, 0);
}
}  // namespace

void Doorbell::ring() {
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  // A sleeper registers before re-checking the epoch, so either it sees our
  // increment or we see it registered: no lost wake-up.
  if (sleepers_.load(std::memory_order_seq_cst) != 0) futex(&epoch_, FUTEX_WAKE, INT_MAX, nullptr);
}

void Doorbell::wait(uint32_t seen, Clock::time_point until) {
  const auto now = Clock::now();
  if (now >= until) return;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now).count();
  const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  if (epoch_.load(std::memory_order_seq_cst) == seen) futex(&epoch_, FUTEX_WAIT, seen, &ts);
  sleepers_.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace colossus::transport
