// mpi_kill: the Open MPI peer of fault_bench's "SIGKILL -> last survivor's
// error": how soon every other rank of an MPI job learns that one died.
//
// Every rank loops MPI_Allreduce on 1 MiB; after 50 iterations rank n/2
// writes the time (CLOCK_MONOTONIC, shared by every process of the machine)
// to DIR/kill and SIGKILLs itself. Open MPI (4.x, no ULFM) gives the
// survivors no error to catch: mpirun notices the death and terminates
// them (SIGTERM first). Each survivor's SIGTERM handler writes its time to
// DIR/end.RANK and exits, so the last survivor's end minus the kill is the
// time the job takes to notice, as fault_bench measures it for colossus.
//
//   mpirun -np N mpi_kill DIR
#include <fcntl.h>
#include <mpi.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

char end_path[4096];

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Async-signal-safe: formats the time by hand and writes it with write().
void write_time(const char* path, long long t) {
  char text[32];
  int len = 0;
  char rev[32];
  do {
    rev[len++] = static_cast<char>('0' + t % 10);
    t /= 10;
  } while (t > 0);
  for (int i = 0; i < len; ++i) text[i] = rev[len - 1 - i];
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    (void)!write(fd, text, static_cast<std::size_t>(len));
    close(fd);
  }
}

void on_term(int) {
  write_time(end_path, now_ns());
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mpirun -np N mpi_kill DIR\n");
    return 2;
  }
  MPI_Init(&argc, &argv);
  int rank = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  std::snprintf(end_path, sizeof end_path, "%s/end.%d", argv[1], rank);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, nullptr);
  std::vector<float> in(1 << 18, 1.0f), out(in.size());
  const int victim = n / 2;
  for (int i = 0; i < 1000000; ++i) {
    if (rank == victim && i == 50) {
      char kill_path[4096];
      std::snprintf(kill_path, sizeof kill_path, "%s/kill", argv[1]);
      write_time(kill_path, now_ns());
      raise(SIGKILL);
    }
    MPI_Allreduce(in.data(), out.data(), static_cast<int>(in.size()), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
  }
  MPI_Finalize();  // not reached: the victim dies first
  return 1;
}
