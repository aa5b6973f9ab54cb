/* abi_main.c: runs the ABI checks (abi_checks.h), each in a child process
 * under alarm(ABI_CHECK_SECONDS), and prints PASS or FAIL with the reason.
 * Arguments, if any, name the checks to run. Exit status 0 when all pass. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi_checks.h"

const abi_check_t abi_checks[] = {
    {"library", abi_check_library},
    {"comm_surface", abi_check_comm_surface},
    {"revoke", abi_check_revoke},
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 30, 0)
    {"new_api", abi_check_new_api},
#endif
    {"allreduce", abi_check_allreduce},
    {"collectives", abi_check_collectives},
    {"send_recv", abi_check_send_recv},
    {"premulsum", abi_check_premulsum},
    {"threads", abi_check_threads},
    {"processes", abi_check_processes},
    {"nonblocking", abi_check_nonblocking},
    {"split", abi_check_split},
    {"abort", abi_check_abort},
    {"shrink", abi_check_shrink},
};
const int abi_check_count = (int)(sizeof abi_checks / sizeof abi_checks[0]);

static int abi_selected(const char* name, int argc, char** argv) {
  int i;
  if (argc < 2) return 1;
  for (i = 1; i < argc; ++i)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

/* Runs one check in a child; returns 1 when it passed. */
static int abi_run_one(const abi_check_t* check) {
  int status = 0;
  pid_t pid;
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    printf("FAIL %s: fork failed\n", check->name);
    return 0;
  }
  if (pid == 0) {
    const char* text;
    alarm(ABI_CHECK_SECONDS);
    text = check->run();
    if (text) printf("FAIL %s: %s\n", check->name, text);
    fflush(NULL);
    _exit(text ? 1 : 0);
  }
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    printf("FAIL %s: died of signal %d%s\n", check->name, WTERMSIG(status),
           WTERMSIG(status) == SIGALRM ? " (its alarm: it hung)" : "");
    return 0;
  }
  if (WEXITSTATUS(status) != 0) return 0;
  printf("PASS %s\n", check->name);
  return 1;
}

int main(int argc, char** argv) {
  int i, ran = 0, passed = 0, version = 0;
  ncclGetVersion(&version);
  printf("nccl.h %d.%d.%d (%s), library version code %d\n", NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH,
#ifdef __cplusplus
         "C++",
#else
         "C",
#endif
         version);
  for (i = 0; i < abi_check_count; ++i) {
    if (!abi_selected(abi_checks[i].name, argc, argv)) continue;
    ++ran;
    passed += abi_run_one(&abi_checks[i]);
  }
  printf("%d of %d checks passed\n", passed, ran);
  return ran > 0 && passed == ran ? 0 : 1;
}
