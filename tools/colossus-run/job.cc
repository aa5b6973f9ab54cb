#include "colossus-run/job.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>

#include "colossus-run/host_namespace.hpp"
#include "colossus-run/line_forwarder.hpp"

extern char** environ;

namespace colossus::run {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

struct Stream {
  int fd = -1;
  std::unique_ptr<LineForwarder> forwarder;
};

struct Rank {
  Placement place;
  pid_t pid = -1;
  bool running = false;
  Stream out, err;
};

class Job {
 public:
  explicit Job(const JobSpec& spec) : spec_(spec) {}
  int run();

 private:
  void setup_signals();
  void spawn(Rank& rank);
  [[noreturn]] void exec_child(const Rank& rank, int out_w, int err_w,
                               const std::vector<char*>& argv, const std::vector<char*>& envp);
  std::vector<std::string> environment_for(const Placement& p) const;
  void bind_to_core(const Placement& place) const;
  void reap();
  void kill_descendants();
  void on_signal(int sig);
  void begin_stop(int exit_code, int sig);
  void signal_all(int sig);
  bool read_stream(Stream& s);
  void close_stream(Stream& s);
  std::string describe(const Rank& r) const;

  const JobSpec& spec_;
  std::vector<Rank> ranks_;
  int sigfd_ = -1;
  pid_t self_ = 0;
  rlimit original_nofile_{};
  int live_ = 0;           // ranks whose main process has not been reaped
  bool stopping_ = false;  // a failure, timeout or signal has ended the job
  bool killed_ = false;    // SIGKILL already sent to everything still running
  int exit_code_ = 0;
  Clock::time_point kill_at_{};
};

std::vector<std::string> Job::environment_for(const Placement& p) const {
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"COLOSSUS_RANK", std::to_string(p.rank)},
      {"COLOSSUS_WORLD_SIZE", std::to_string(spec_.placements.size())},
      {"COLOSSUS_LOCAL_RANK", std::to_string(p.local_rank)},
      {"COLOSSUS_LOCAL_SIZE", std::to_string(p.local_size)},
      {"COLOSSUS_BOOTSTRAP_ADDR", spec_.bootstrap_addr},
      {"COLOSSUS_JOB_ID", spec_.job_id},
  };
  std::vector<std::string> env;
  // Inherited values of our own variables (a nested launch) are replaced.
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const bool ours_too = std::any_of(ours.begin(), ours.end(), [&](const auto& kv) {
      return entry.size() > kv.first.size() && entry.substr(0, kv.first.size()) == kv.first &&
             entry[kv.first.size()] == '=';
    });
    if (!ours_too) env.emplace_back(entry);
  }
  for (const auto& [name, value] : ours) env.push_back(std::string(name).append("=").append(value));
  return env;
}

void Job::setup_signals() {
  self_ = ::getpid();
  // A non-interactive shell starts background jobs with SIGINT ignored, and
  // an ignored signal never reaches a signalfd: take the default back.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
  // A closed stdout must not kill us while ranks still run; writes then fail with EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    throw std::runtime_error(std::string("sigprocmask: ") + std::strerror(errno));
  sigfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd_ < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
  // Orphans of a rank come to us (and get reaped) instead of to init.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Two pipes per rank: raise the soft fd limit as far as allowed; ranks get the original back.
  ::getrlimit(RLIMIT_NOFILE, &original_nofile_);
  rlimit raised = original_nofile_;
  raised.rlim_cur = raised.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &raised);
}

// --bind-to core: local rank i on the i-th CPU this process may use, when the
// host's ranks fit (Open MPI binds to cores for few ranks too). Ranks that
// share cores are left to the scheduler. Failure to pin is not an error.
void Job::bind_to_core(const Placement& place) const {
  if (spec_.bind_to != "core") return;
  cpu_set_t allowed;
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  const int ncpus = CPU_COUNT(&allowed);
  if (place.local_size > ncpus) return;
  int seen = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (seen++ == place.local_rank) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      ::sched_setaffinity(0, sizeof one, &one);
      return;
    }
  }
}

void Job::exec_child(const Rank& rank, int out_w, int err_w, const std::vector<char*>& argv,
                     const std::vector<char*>& envp) {
  // Between fork and exec: only async-signal-safe calls matter in theory,
  // and we are single-threaded, so the std::string use below is safe too.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != self_) ::_exit(1);  // colossus-run died before prctl took effect
  ::dup2(out_w, STDOUT_FILENO);
  ::dup2(err_w, STDERR_FILENO);
  const int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, STDIN_FILENO);
  // Ignored dispositions and the blocked mask survive exec: give the rank a clean slate.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setrlimit(RLIMIT_NOFILE, &original_nofile_);
  if (rank.place.host_index >= 0) {
    std::string error;
    if (!enter_host(spec_.hosts[static_cast<std::size_t>(rank.place.host_index)], &error)) {
      ::dprintf(STDERR_FILENO, "colossus-run: rank %d: %s\n", rank.place.rank, error.c_str());
      ::_exit(126);
    }
  }
  bind_to_core(rank.place);
  ::execvpe(argv[0], argv.data(), envp.data());
  const int e = errno;
  ::dprintf(STDERR_FILENO, "colossus-run: cannot execute '%s': %s\n", argv[0], std::strerror(e));
  ::_exit(e == ENOENT ? 127 : 126);  // the shell's codes for "not found" / "not runnable"
}

void Job::spawn(Rank& rank) {
  std::vector<std::string> env = environment_for(rank.place);
  std::vector<char*> envp, argv;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec_.command;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) exec_child(rank, out[1], err[1], argv, envp);
  // Also from the parent, so the group exists before we could signal it.
  ::setpgid(pid, pid);
  ::close(out[1]);
  ::close(err[1]);
  rank.pid = pid;
  rank.running = true;
  ++live_;
  const std::string prefix = spec_.tag_output ? "[" + std::to_string(rank.place.rank) + "] " : "";
  for (auto [stream, fd, sink] : {std::tuple{&rank.out, out[0], STDOUT_FILENO},
                                  std::tuple{&rank.err, err[0], STDERR_FILENO}}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    stream->fd = fd;
    stream->forwarder = std::make_unique<LineForwarder>(sink, prefix);
  }
}

std::string Job::describe(const Rank& r) const {
  std::string s = "rank " + std::to_string(r.place.rank);
  if (r.place.host_index >= 0)
    s += " on " + spec_.hosts[static_cast<std::size_t>(r.place.host_index)];
  return s + " (pid " + std::to_string(r.pid) + ")";
}

void Job::signal_all(int sig) {
  for (const Rank& r : ranks_)
    if (r.running) ::kill(-r.pid, sig);
}

void Job::begin_stop(int exit_code, int sig) {
  stopping_ = true;
  exit_code_ = exit_code;
  signal_all(sig);
  kill_at_ = Clock::now() + seconds(kGraceSeconds);
}

void Job::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = std::find_if(ranks_.begin(), ranks_.end(),
                           [&](const Rank& r) { return r.running && r.pid == pid; });
    if (it == ranks_.end()) continue;  // an orphan we adopted as subreaper
    Rank& r = *it;
    r.running = false;
    --live_;
    // The rank is over; nothing it started may outlive it.
    ::kill(-r.pid, SIGKILL);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok || stopping_) continue;
    // Whatever the rank printed before failing comes before the line saying
    // so (up to 4 MiB per stream: a leftover process may still be writing).
    for (Stream* s : {&r.out, &r.err})
      for (int reads = 0; reads < 64 && s->fd >= 0 && read_stream(*s); ++reads) {
      }
    if (stopping_) continue;  // our own output broke while draining: that ends the job
    std::string how;
    int code;
    if (WIFEXITED(status)) {
      code = WEXITSTATUS(status);
      how = "exited with code " + std::to_string(code);
    } else {
      code = 128 + WTERMSIG(status);
      how = "was killed by " + signal_name(WTERMSIG(status));
    }
    std::string line = "colossus-run: " + describe(r) + " " + how;
    if (live_ > 0) line += "; stopping the other " + std::to_string(live_) + " rank(s)";
    line += "\n";
    write_all(STDERR_FILENO, line.data(), line.size());
    begin_stop(code, SIGTERM);
  }
}

// Everything still parented to us once every rank's main process is gone:
// processes that left their rank's group (setsid daemons) and were
// reparented to us as subreaper. Killing one can orphan its own children onto
// us, hence the rounds.
void Job::kill_descendants() {
  for (int round = 0; round < 8; ++round) {
    std::vector<pid_t> children;
    const std::string path = "/proc/self/task/" + std::to_string(self_) + "/children";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      long pid;
      while (std::fscanf(f, "%ld", &pid) == 1) children.push_back(static_cast<pid_t>(pid));
      std::fclose(f);
    }
    if (children.empty()) return;
    for (pid_t pid : children) ::kill(pid, SIGKILL);
    for (pid_t pid : children)
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
  }
}

void Job::on_signal(int sig) {
  if (stopping_) {
    // Asked twice, or asked while already stopping: no more grace.
    if (!killed_) signal_all(SIGKILL);
    killed_ = true;
    return;
  }
  const std::string line = "colossus-run: got " + signal_name(sig) + "; forwarding it to " +
                           std::to_string(live_) + " rank(s)\n";
  write_all(STDERR_FILENO, line.data(), line.size());
  begin_stop(128 + sig, sig);
}

void Job::close_stream(Stream& s) {
  if (s.fd < 0) return;
  s.forwarder->finish();
  ::close(s.fd);
  s.fd = -1;
}

// Returns true when it read something.
bool Job::read_stream(Stream& s) {
  char buf[64 * 1024];
  const ssize_t n = ::read(s.fd, buf, sizeof buf);
  if (n > 0) {
    s.forwarder->feed(buf, static_cast<std::size_t>(n));
    // `colossus-run ... | head`: once our reader is gone, behave like a
    // program killed by SIGPIPE instead of running the ranks into the void.
    if (s.forwarder->broken() && !stopping_) begin_stop(128 + SIGPIPE, SIGTERM);
    return true;
  }
  if (n == 0 || (errno != EAGAIN && errno != EINTR)) close_stream(s);
  return false;
}

int Job::run() {
  setup_signals();
  ranks_.resize(spec_.placements.size());
  try {
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      ranks_[i].place = spec_.placements[i];
      spawn(ranks_[i]);
    }
  } catch (...) {
    signal_all(SIGKILL);
    throw;
  }
  const bool has_timeout = spec_.timeout_s > 0;
  const Clock::time_point timeout_at = Clock::now() + seconds(has_timeout ? spec_.timeout_s : 0);
  std::optional<Clock::time_point> drain_until;
  std::vector<pollfd> fds;
  std::vector<Stream*> streams;
  while (true) {
    const auto now = Clock::now();
    if (live_ == 0 && !drain_until) {
      kill_descendants();
      drain_until = now + seconds(kDrainSeconds);
    }
    if (!stopping_ && has_timeout && now >= timeout_at) {
      char line[160];
      const int n = std::snprintf(line, sizeof line,
                                  "colossus-run: timeout after %g s; stopping %d rank(s)\n",
                                  spec_.timeout_s, live_);
      write_all(STDERR_FILENO, line, static_cast<std::size_t>(n));
      begin_stop(124, SIGTERM);
    }
    if (stopping_ && !killed_ && now >= kill_at_) {
      signal_all(SIGKILL);
      killed_ = true;
    }

    fds.clear();
    streams.clear();
    fds.push_back({sigfd_, POLLIN, 0});
    for (Rank& r : ranks_)
      for (Stream* s : {&r.out, &r.err})
        if (s->fd >= 0) {
          fds.push_back({s->fd, POLLIN, 0});
          streams.push_back(s);
        }
    if (drain_until && (streams.empty() || now >= *drain_until)) break;

    // Sleep until the nearest deadline that can still change something.
    std::optional<Clock::time_point> wake;
    auto consider = [&](Clock::time_point t) { wake = wake ? std::min(*wake, t) : t; };
    if (!stopping_ && has_timeout) consider(timeout_at);
    if (stopping_ && !killed_) consider(kill_at_);
    if (drain_until) consider(*drain_until);
    int wait_ms = -1;
    if (wake) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR)
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));

    // One read per stream per wakeup keeps a chatty rank from starving the others.
    for (std::size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents) read_stream(*streams[i - 1]);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      bool child = false;
      while (::read(sigfd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGCHLD)
          child = true;
        else
          on_signal(static_cast<int>(info.ssi_signo));
      }
      if (child) reap();
    }
  }
  for (Rank& r : ranks_) {
    close_stream(r.out);
    close_stream(r.err);
  }
  return exit_code_;
}

}  // namespace

int run_job(const JobSpec& spec) { return Job(spec).run(); }

}  // namespace colossus::run
