// oob.hpp: what transports need from the bootstrap, and nothing more.
//
// Transports exchange small connection blobs (addresses, segment names)
// out of band at setup. The bootstrap implements this over a TCP star
// through rank 0 (lib/bootstrap/);
// tests implement it over threads of one process (tests/support/thread_oob.hpp).
//
// Every call is collective unless noted: all ranks call it, in the same
// order. Each blocks with a deadline and throws colossus::Error on failure
// (Timeout, RemoteError when a peer vanished).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace colossus::bootstrap {

class OutOfBand {
 public:
  virtual ~OutOfBand() = default;
  virtual int rank() const = 0;
  virtual int nranks() const = 0;
  // A value all ranks of this job share and other jobs do not (for naming
  // shared-memory segments and authenticating data connections).
  virtual uint64_t job_secret() const = 0;
  // Every rank contributes `mine`; returns all ranks' blobs in rank order.
  virtual std::vector<std::string> allgather(const std::string& mine) = 0;
  // Root's blob to every rank.
  virtual std::string broadcast(const std::string& blob, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace colossus::bootstrap
