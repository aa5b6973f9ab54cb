// lanes.hpp: the executor's bookkeeping, internal to lib/exec: one rank's
// endpoints per transport channel, and one lane (a channel of one job's
// Plan) with its progress. executor.cc moves the data; lanes.cc builds a
// group's lanes and writes the timeout report.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exec/executor.hpp"

namespace colossus::exec {

struct Executor::Endpoints {
  std::vector<std::pair<int, std::unique_ptr<transport::SendEndpoint>>> send;
  std::vector<std::pair<int, std::unique_ptr<transport::RecvEndpoint>>> recv;
};

// One lane (a channel of one job's Plan): its progress through its steps,
// and what it needs to run them.
struct Executor::ChannelRun {
  int channel = 0;  // index in the Plan (for messages)
  int conn = 0;     // transport channel: the Plan's channel_base + channel
  const std::vector<plan::Step>* steps = nullptr;
  std::size_t step = 0;  // index of the current step
  std::size_t done = 0;  // elements of the current step already moved
  // Per-call context, the same for every channel.
  const plan::Plan* plan = nullptr;
  const Buffers* buffers = nullptr;
  std::size_t esize = 0;
  std::size_t piece = 0;                // elements per message
  bool blocked_on_send = false;         // last attempt waited for a slot (else for a message)
  bool post_sends = false;              // Send steps from the send buffer may go by reference
  Endpoints* eps = nullptr;             // the endpoints of transport channel `conn`
  int waits = 0;                        // unfinished earlier lanes sharing a stream with this one
  std::vector<std::size_t> dependents;  // later lanes waiting for this one
  bool finished() const { return step == steps->size(); }
};

// "rank R <coll> (<algorithm>) channel C step S (<step>)": where a message
// or an error points.
std::string where(const plan::Plan& p, int channel, std::size_t step);

}  // namespace colossus::exec
