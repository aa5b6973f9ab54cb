// The transport-generic path (make_group) over loopback: the harness that
// the shm and tcp suites use is itself checked against the known-good transport.
#include "catch.hpp"
#include "collectives/harness.hpp"
#include "support/transport_group.hpp"
#include "transports/loopback/loopback.hpp"

using namespace colossus;

TEST_CASE("make_group builds working communicators from a transport factory", "[harness]") {
  const int n = 4;
  auto fabric = std::make_shared<transport::LoopbackFabric>(n, 4096, 4);
  auto comms = test::make_group(n, [&](bootstrap::OutOfBand& oob) {
    return std::make_unique<transport::LoopbackTransport>(fabric, oob.rank());
  });
  test::Group group(std::move(comms));
  std::vector<std::string> problems;
  for (auto coll :
       {plan::Collective::AllReduce, plan::Collective::AllGather, plan::Collective::ReduceScatter,
        plan::Collective::Broadcast, plan::Collective::Reduce}) {
    test::Case c;
    c.coll = coll;
    c.count = 5003;
    c.root = 1;
    for (auto& p : group.run(c)) problems.push_back(p);
  }
  INFO((problems.empty() ? std::string("none") : problems[0]));
  CHECK(problems.empty());
}
