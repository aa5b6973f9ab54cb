/* abi_support.c: what the ABI checks share (abi_checks.h): failure texts,
 * elements of every data type, polling a non-blocking communicator, and
 * ranks in forked processes. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi_checks.h"

#ifdef __cplusplus
#define ABI_THREAD_LOCAL thread_local
#else
#define ABI_THREAD_LOCAL _Thread_local
#endif

static ABI_THREAD_LOCAL char abi_text[ABI_TEXT];

const char* abi_failf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(abi_text, sizeof abi_text, format, args);
  va_end(args);
  return abi_text;
}

void abi_keep(char* dst, const char* result) {
  snprintf(dst, ABI_TEXT, "%s", result ? result : "");
}

const char* abi_fails(ncclResult_t want, const char* fn, ncclResult_t got, const char* file,
                      int line) {
  const char* text = ncclGetLastError(NULL);
  if (got != want)
    return abi_failf("%s:%d: %s returned %d (%s), expected %d (%s); last error: %s", file, line, fn,
                     (int)got, ncclGetErrorString(got), (int)want, ncclGetErrorString(want),
                     text ? text : "(null)");
  if (!text || !strstr(text, fn))
    return abi_failf("%s:%d: %s returned %d but ncclGetLastError does not say why: \"%s\"", file,
                     line, fn, (int)got, text ? text : "(null)");
  return NULL;
}

/* Small floats: `exp_bits` exponent bits, `man_bits` mantissa bits, IEEE-like
 * bias; only the normal numbers and zero the checks use. */
static uint32_t abi_mini_encode(double v, int exp_bits, int man_bits) {
  const uint32_t sign = v < 0 ? 1u : 0u;
  int e = 0;
  double f = frexp(fabs(v), &e); /* |v| = f * 2^e, f in [0.5, 1) */
  if (v == 0) return 0;
  const int bias = (1 << (exp_bits - 1)) - 1;
  const uint32_t man = (uint32_t)ldexp(2 * f - 1, man_bits);
  return sign << (exp_bits + man_bits) | (uint32_t)(e - 1 + bias) << man_bits | man;
}

static double abi_mini_decode(uint32_t bits, int exp_bits, int man_bits) {
  const int bias = (1 << (exp_bits - 1)) - 1;
  const uint32_t man = bits & ((1u << man_bits) - 1);
  const uint32_t exp = (bits >> man_bits) & ((1u << exp_bits) - 1);
  const double mag = exp == 0 ? ldexp((double)man, 1 - bias - man_bits)
                              : ldexp(1 + ldexp((double)man, -man_bits), (int)exp - bias);
  return (bits >> (exp_bits + man_bits)) & 1 ? -mag : mag;
}

size_t abi_size(ncclDataType_t type) {
  switch (type) {
    case ncclInt8:
    case ncclUint8:
    case ncclFloat8e4m3:
    case ncclFloat8e5m2: return 1;
    case ncclFloat16:
    case ncclBfloat16: return 2;
    case ncclInt32:
    case ncclUint32:
    case ncclFloat32: return 4;
    default: return 8;
  }
}

const char* abi_type_name(ncclDataType_t type) {
  static const char* const names[] = {"int8",    "uint8",    "int32",   "uint32",
                                      "int64",   "uint64",   "float16", "float32",
                                      "float64", "bfloat16", "f8e4m3",  "f8e5m2"};
  return (int)type >= 0 && (int)type < 12 ? names[type] : "?";
}

void abi_put(ncclDataType_t type, void* buf, size_t i, double v) {
  unsigned char* p = (unsigned char*)buf + i * abi_size(type);
  switch (type) {
    case ncclInt8: *(int8_t*)p = (int8_t)v; break;
    case ncclUint8: *(uint8_t*)p = (uint8_t)v; break;
    case ncclInt32: *(int32_t*)p = (int32_t)v; break;
    case ncclUint32: *(uint32_t*)p = (uint32_t)v; break;
    case ncclInt64: *(int64_t*)p = (int64_t)v; break;
    case ncclUint64: *(uint64_t*)p = (uint64_t)v; break;
    case ncclFloat16: *(uint16_t*)p = (uint16_t)abi_mini_encode(v, 5, 10); break;
    case ncclFloat32: *(float*)p = (float)v; break;
    case ncclFloat64: *(double*)p = v; break;
    case ncclBfloat16: *(uint16_t*)p = (uint16_t)abi_mini_encode(v, 8, 7); break;
    case ncclFloat8e4m3: *p = (unsigned char)abi_mini_encode(v, 4, 3); break;
    default: *p = (unsigned char)abi_mini_encode(v, 5, 2); break;
  }
}

double abi_get(ncclDataType_t type, const void* buf, size_t i) {
  const unsigned char* p = (const unsigned char*)buf + i * abi_size(type);
  switch (type) {
    case ncclInt8: return *(const int8_t*)p;
    case ncclUint8: return *(const uint8_t*)p;
    case ncclInt32: return *(const int32_t*)p;
    case ncclUint32: return *(const uint32_t*)p;
    case ncclInt64: return (double)*(const int64_t*)p;
    case ncclUint64: return (double)*(const uint64_t*)p;
    case ncclFloat16: return abi_mini_decode(*(const uint16_t*)p, 5, 10);
    case ncclFloat32: return *(const float*)p;
    case ncclFloat64: return *(const double*)p;
    case ncclBfloat16: return abi_mini_decode(*(const uint16_t*)p, 8, 7);
    case ncclFloat8e4m3: return abi_mini_decode(*p, 4, 3);
    default: return abi_mini_decode(*p, 5, 2);
  }
}

const char* abi_settle(ncclComm_t comm, ncclResult_t r, const char* what) {
  int polls = 0;
  while (r == ncclInProgress && polls++ < ABI_POLLS) {
    ncclResult_t state = ncclInProgress;
    ABI_OK(ncclCommGetAsyncError(comm, &state));
    r = state;
    if (r == ncclInProgress) usleep(1000);
  }
  if (r != ncclSuccess)
    return abi_failf("%s: %d (%s) after %d polls: %s", what, (int)r, ncclGetErrorString(r), polls,
                     ncclGetLastError(comm));
  return NULL;
}

const char* abi_fork_ranks(int n, abi_rank_fn body, void* arg, int killed) {
  int fds[64];
  pid_t pids[64];
  const char* failure = NULL;
  int r;
  ABI_EXPECT(n > 0 && n <= 64);
  fflush(NULL); /* nothing buffered is written twice */
  for (r = 0; r < n; ++r) {
    int p[2];
    ABI_EXPECT(pipe(p) == 0);
    pids[r] = fork();
    ABI_EXPECT(pids[r] >= 0);
    if (pids[r] == 0) {
      const char* text;
      size_t len;
      close(p[0]);
      alarm(ABI_RANK_SECONDS);
      text = body(r, arg);
      len = text ? strlen(text) : 0;
      if (len && write(p[1], text, len) != (ssize_t)len) _exit(2);
      _exit(text ? 1 : 0);
    }
    close(p[1]); /* so that the read below ends when the child does */
    fds[r] = p[0];
  }
  for (r = 0; r < n; ++r) {
    char text[ABI_TEXT] = "";
    ssize_t got, len = 0;
    int status = 0;
    while ((got = read(fds[r], text + len, sizeof text - 1 - (size_t)len)) > 0) len += got;
    close(fds[r]);
    text[len] = 0;
    waitpid(pids[r], &status, 0);
    if (failure) continue;
    if (r == killed) {
      if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        failure = abi_failf("rank %d should have died of SIGKILL (status %#x)", r, status);
    } else if (WIFSIGNALED(status)) {
      failure = abi_failf("rank %d died of signal %d%s", r, WTERMSIG(status),
                          WTERMSIG(status) == SIGALRM ? " (its alarm: it hung)" : "");
    } else if (WEXITSTATUS(status) != 0) {
      failure = abi_failf("rank %d: %s", r, len ? text : "exited with an error");
    }
  }
  return failure;
}

typedef struct {
  int rank;
  abi_rank_fn body;
  void* arg;
  char text[ABI_TEXT];
} abi_thread_rank_t;

static void* abi_thread_main(void* p) {
  abi_thread_rank_t* t = (abi_thread_rank_t*)p;
  abi_keep(t->text, t->body(t->rank, t->arg)); /* before the thread's buffer goes */
  return NULL;
}

const char* abi_thread_ranks(int n, abi_rank_fn body, void* arg) {
  static abi_thread_rank_t ranks[64];
  pthread_t threads[64];
  int r, started;
  ABI_EXPECT(n > 0 && n <= 64);
  for (started = 0; started < n; ++started) {
    ranks[started].rank = started;
    ranks[started].body = body;
    ranks[started].arg = arg;
    if (pthread_create(&threads[started], NULL, abi_thread_main, &ranks[started]) != 0) break;
  }
  for (r = 0; r < started; ++r) pthread_join(threads[r], NULL);
  ABI_EXPECT(started == n);
  for (r = 0; r < n; ++r)
    if (ranks[r].text[0]) return abi_failf("rank %d: %s", r, ranks[r].text);
  return NULL;
}
