/* abi_checks.h: the ABI test of libnccl.so.2, a small C library of checks
 * built against NVIDIA's own nccl.h (2.28 and 2.30) and linked to colossus's
 * libnccl.so.2, compiled as C (abi_main.c) and as C++ (abi_cpp.cc).
 *
 * Each check is one scenario on host communicators (CUDA_VISIBLE_DEVICES=):
 * it returns NULL when it passes, or a text saying what went wrong. abi_main
 * runs each in a child process under alarm(), so a hang is a failure. Every
 * wait inside a check is bounded too: polls count iterations, forked ranks
 * run under their own alarm(). Only what NVIDIA's header declares is used. */
#ifndef COLOSSUS_TESTS_NCCL_ABI_CHECKS_H_
#define COLOSSUS_TESTS_NCCL_ABI_CHECKS_H_

#include <nccl.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds a forked rank may live, and a check as a whole (abi_main.c). */
#define ABI_RANK_SECONDS 60
#define ABI_CHECK_SECONDS 120
/* Upper bound of the polls of ncclCommGetAsyncError (1 ms apart). */
#define ABI_POLLS 60000
/* Room for a failure text. */
#define ABI_TEXT 1024

/* Formats a failure text into this thread's buffer and returns it. */
const char* abi_failf(const char* format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Copies a check's result (NULL: passed) to dst (ABI_TEXT bytes, "" = passed). */
void abi_keep(char* dst, const char* result);

/* A call that must succeed. */
#define ABI_OK(call)                                                                             \
  do {                                                                                           \
    ncclResult_t abi_r_ = (call);                                                                \
    if (abi_r_ != ncclSuccess)                                                                   \
      return abi_failf("%s:%d: %s returned %d (%s): %s", __FILE__, __LINE__, #call, (int)abi_r_, \
                       ncclGetErrorString(abi_r_), ncclGetLastError(NULL));                      \
  } while (0)
/* A condition that must hold. */
#define ABI_EXPECT(cond)                                                            \
  do {                                                                              \
    if (!(cond)) return abi_failf("%s:%d: expected %s", __FILE__, __LINE__, #cond); \
  } while (0)
/* A call that must fail with `code` and say why (ncclGetLastError names fn). */
#define ABI_FAILS(code, fn, call)                                         \
  do {                                                                    \
    const char* abi_t_ = abi_fails(code, fn, (call), __FILE__, __LINE__); \
    if (abi_t_) return abi_t_;                                            \
  } while (0)
const char* abi_fails(ncclResult_t want, const char* fn, ncclResult_t got, const char* file,
                      int line);
/* Propagates the failure text of a helper that returns one. */
#define ABI_CHECK(text)          \
  do {                           \
    const char* abi_c_ = (text); \
    if (abi_c_) return abi_c_;   \
  } while (0)

/* Elements of any ncclDataType_t as doubles (exact for the small integers and
 * halves the checks use; the 8- and 16-bit floats are encoded by hand). */
size_t abi_size(ncclDataType_t type);
const char* abi_type_name(ncclDataType_t type);
void abi_put(ncclDataType_t type, void* buf, size_t i, double v);
double abi_get(ncclDataType_t type, const void* buf, size_t i);

/* Waits, polling ncclCommGetAsyncError at most ABI_POLLS times, while the
 * result `r` of a call on a non-blocking communicator is ncclInProgress. */
const char* abi_settle(ncclComm_t comm, ncclResult_t r, const char* what);

/* Runs body(rank, arg) in n forked processes, each under alarm(); NULL if
 * every rank returned NULL and exited, the first failure otherwise. The rank
 * `killed` (-1: none) must instead die of SIGKILL. */
typedef const char* (*abi_rank_fn)(int rank, void* arg);
const char* abi_fork_ranks(int n, abi_rank_fn body, void* arg, int killed);
/* Runs body(rank, arg) on n threads of this process (at most 64), joined;
 * NULL if every rank returned NULL, the first failure otherwise. */
const char* abi_thread_ranks(int n, abi_rank_fn body, void* arg);

/* The checks, one scenario each (abi_surface.c, abi_collectives.c,
 * abi_launch.c, abi_faults.c). */
typedef struct {
  const char* name;
  const char* (*run)(void);
} abi_check_t;
extern const abi_check_t abi_checks[];
extern const int abi_check_count;

const char* abi_check_library(void);
const char* abi_check_comm_surface(void);
const char* abi_check_revoke(void);
const char* abi_check_new_api(void);
const char* abi_check_allreduce(void);
const char* abi_check_collectives(void);
const char* abi_check_send_recv(void);
const char* abi_check_premulsum(void);
const char* abi_check_threads(void);
const char* abi_check_processes(void);
const char* abi_check_nonblocking(void);
const char* abi_check_split(void);
const char* abi_check_abort(void);
const char* abi_check_shrink(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COLOSSUS_TESTS_NCCL_ABI_CHECKS_H_ */
