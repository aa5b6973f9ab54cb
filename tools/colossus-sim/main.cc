// colossus-sim: predicted time and bandwidth of a collective on a modeled
// fabric, per size and algorithm, next to the tuner's own prediction; or,
// with --loopback, the tuner's pick run with real data by threads of this
// process. See tools/README.md.
#include <cstdio>
#include <exception>

#include "colossus-sim/loopback.hpp"
#include "colossus-sim/options.hpp"
#include "colossus-sim/progress.hpp"
#include "colossus-sim/sweep.hpp"
#include "colossus-sim/target.hpp"
#include "colossus/error.hpp"

int main(int argc, char** argv) {
  using namespace colossus;
  using namespace colossus::sim_tool;
  try {
    const sim_tool::Options o = parse_options(argc, argv);
    if (o.help) {
      std::fputs(usage_text(), stdout);
      return 0;
    }
    const Target target(o.topo, o.nranks);
    Progress progress(o.progress);
    return o.loopback ? run_loopback(o, target, progress) : run_sweep(o, target, progress);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "colossus-sim: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "colossus-sim: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "colossus-sim: %s\n", e.what());
    return 1;
  }
}
