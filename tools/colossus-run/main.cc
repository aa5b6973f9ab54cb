// colossus-run: the project's own launcher. See tools/README.md.
#include <sys/random.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "colossus-run/host_namespace.hpp"
#include "colossus-run/job.hpp"
#include "colossus-run/options.hpp"

namespace {

// 64 random bits as 16 hex digits: tells two jobs apart in logs and lets the
// library reject a peer from another job that reached the same port.
std::string random_job_id() {
  std::uint64_t bits = 0;
  auto* p = reinterpret_cast<unsigned char*>(&bits);
  std::size_t got = 0;
  while (got < sizeof bits) {
    const ssize_t n = ::getrandom(p + got, sizeof bits - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace colossus::run;
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "colossus-run: %s\n%s", e.what(), usage_text());
    return 2;
  }
  if (options.help) {
    std::fputs(usage_text(), stdout);
    return 0;
  }
  for (const std::string& host : options.hosts) {
    if (!host_exists(host)) {
      std::fprintf(stderr,
                   "colossus-run: --hosts: no network namespace %s/%s "
                   "(scripts/testbed.sh makes hosts)\n",
                   kNetnsDir, host.c_str());
      return 2;
    }
  }
  try {
    JobSpec spec;
    spec.command = options.command;
    spec.hosts = options.hosts;
    spec.placements = place_ranks(options);
    spec.timeout_s = options.timeout_s;
    spec.tag_output = options.tag_output;
    spec.bind_to = options.bind_to;
    spec.job_id = random_job_id();
    spec.bootstrap_addr = pick_bootstrap_addr(options.hosts.empty() ? "" : options.hosts[0]);
    return run_job(spec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "colossus-run: %s\n", e.what());
    return 1;
  }
}
