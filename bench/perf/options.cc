#include "perf/options.hpp"

#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "base/config.hpp"

namespace colossus::perf {

namespace {

void print_usage(std::FILE* out, const char* prog) {
  const char* base = std::strrchr(prog, '/');
  std::fprintf(
      out,
      "USAGE: %s \n\t"
      "[-t,--nthreads <num threads>] \n\t"
      "[-g,--ngpus <gpus per thread>] (1 only)\n\t"
      "[-b,--minbytes <min size in bytes>] \n\t"
      "[-e,--maxbytes <max size in bytes>] \n\t"
      "[-i,--stepbytes <increment size>] \n\t"
      "[-f,--stepfactor <increment factor>] \n\t"
      "[-n,--iters <iteration count>] \n\t"
      "[-m,--agg_iters <aggregated iteration count>] \n\t"
      "[-w,--warmup_iters <warmup iteration count>] \n\t"
      "[-p,--parallel_init <0/1>] \n\t"
      "[-c,--check <check iteration count>] \n\t"
      "[-o,--op <sum/prod/min/max/avg/all>] \n\t"
      "[-d,--datatype <nccltype/all>] \n\t"
      "[-r,--root <root>] \n\t"
      "[-z,--blocking <0/1>] \n\t"
      "[-T,--timeout <time in seconds>] \n\t"
      "[-G,--cudagraph <num graph launches>] (with --buffers device)\n\t"
      "[--buffers <host/device>] (host: the default; device: the GPU, calls on a stream)\n\t"
      "[-C,--report_cputime <0/1>] \n\t"
      "[-a,--average <0/1/2/3> report average iteration time <0=RANK0/1=AVG/2=MIN/3=MAX>] \n\t"
      "[-h,--help]\n",
      base ? base + 1 : prog);
}

// A whole-string integer in [lo, hi]; strtol's base 0 accepts 0x.. as nccl-tests does.
bool parse_int(const char* text, long lo, long hi, long* out) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

constexpr int kBuffersFlag = 1000;  // --buffers: long only (nccl-tests has no such flag)

std::optional<PerfOptions> parse_options(int argc, char** argv, int* exit_code) {
  static const option kLong[] = {{"nthreads", required_argument, nullptr, 't'},
                                 {"ngpus", required_argument, nullptr, 'g'},
                                 {"minbytes", required_argument, nullptr, 'b'},
                                 {"maxbytes", required_argument, nullptr, 'e'},
                                 {"stepbytes", required_argument, nullptr, 'i'},
                                 {"stepfactor", required_argument, nullptr, 'f'},
                                 {"iters", required_argument, nullptr, 'n'},
                                 {"agg_iters", required_argument, nullptr, 'm'},
                                 {"warmup_iters", required_argument, nullptr, 'w'},
                                 {"parallel_init", required_argument, nullptr, 'p'},
                                 {"check", required_argument, nullptr, 'c'},
                                 {"op", required_argument, nullptr, 'o'},
                                 {"datatype", required_argument, nullptr, 'd'},
                                 {"root", required_argument, nullptr, 'r'},
                                 {"blocking", required_argument, nullptr, 'z'},
                                 {"timeout", required_argument, nullptr, 'T'},
                                 {"cudagraph", required_argument, nullptr, 'G'},
                                 {"report_cputime", required_argument, nullptr, 'C'},
                                 {"average", required_argument, nullptr, 'a'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {"buffers", required_argument, nullptr, kBuffersFlag},
                                 {nullptr, 0, nullptr, 0}};
  PerfOptions o;
  auto fail = [&](const char* what, const char* value) -> std::optional<PerfOptions> {
    if (what)
      std::fprintf(stderr, "%s: invalid value '%s' for %s\n", argv[0], value ? value : "", what);
    print_usage(stderr, argv[0]);
    *exit_code = 1;
    return std::nullopt;
  };
  constexpr long kIntMax = std::numeric_limits<int>::max();
  opterr = 0;  // we report bad flags ourselves, then the usage
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":t:g:b:e:i:f:n:m:w:p:c:o:d:r:z:T:G:C:a:h", kLong,
                          nullptr)) != -1) {
    long v = 0;
    std::size_t bytes = 0;
    switch (c) {
      case 't':
        if (!parse_int(optarg, 1, 4096, &v)) return fail("-t (1..4096)", optarg);
        o.nthreads = int(v);
        break;
      case 'g':
        if (!parse_int(optarg, 1, 1, &v))
          return fail("-g (only 1: ranks are threads, -t, or processes)", optarg);
        break;
      case 'b':
        if (!base::parse_bytes(optarg, &bytes)) return fail("-b", optarg);
        o.min_bytes = bytes;
        break;
      case 'e':
        if (!base::parse_bytes(optarg, &bytes)) return fail("-e", optarg);
        o.max_bytes = bytes;
        break;
      case 'i':
        if (!base::parse_bytes(optarg, &bytes)) return fail("-i", optarg);
        o.step_bytes = bytes;
        break;
      case 'f':
        if (!parse_int(optarg, 1, 1 << 20, &v)) return fail("-f (>= 1)", optarg);
        o.step_factor = std::size_t(v);
        break;
      case 'n':
        if (!parse_int(optarg, 1, kIntMax, &v)) return fail("-n (>= 1)", optarg);
        o.iters = int(v);
        break;
      case 'm':
        if (!parse_int(optarg, 1, kIntMax, &v)) return fail("-m (>= 1)", optarg);
        o.agg_iters = int(v);
        break;
      case 'w':
        if (!parse_int(optarg, 0, kIntMax, &v)) return fail("-w (>= 0)", optarg);
        o.warmup_iters = int(v);
        break;
      case 'p':
        if (!parse_int(optarg, 0, 1, &v)) return fail("-p (0/1)", optarg);
        o.parallel_init = int(v);
        break;
      case 'c':
        if (!parse_int(optarg, 0, 1000, &v)) return fail("-c (0..1000)", optarg);
        o.check = int(v);
        break;
      case 'z':
        if (!parse_int(optarg, 0, 1, &v)) return fail("-z (0/1)", optarg);
        o.blocking = int(v);
        break;
      case 'T':
        if (!parse_int(optarg, 0, kIntMax, &v)) return fail("-T (>= 0)", optarg);
        o.timeout_s = int(v);
        break;
      case 'G':
        if (!parse_int(optarg, 0, kIntMax, &v)) return fail("-G (>= 0)", optarg);
        o.graph_launches = int(v);
        break;
      case kBuffersFlag:
        if (std::strcmp(optarg, "host") != 0 && std::strcmp(optarg, "device") != 0)
          return fail("--buffers (host/device)", optarg);
        o.device_buffers = std::strcmp(optarg, "device") == 0;
        break;
      case 'C':
        if (!parse_int(optarg, 0, 1, &v)) return fail("-C (0/1)", optarg);
        o.report_cputime = int(v);
        break;
      case 'a':
        if (!parse_int(optarg, 0, 3, &v)) return fail("-a (0..3)", optarg);
        o.average = Average(v);
        break;
      case 'r':
        if (!parse_int(optarg, -1, 1 << 30, &v)) return fail("-r (-1 = all, or a rank)", optarg);
        o.root = int(v);
        break;
      case 'd': {
        o.types.clear();
        DataType t;
        if (std::strcmp(optarg, "all") == 0) {
          for (int i = 0; i < kNumDataTypes; ++i) o.types.push_back(DataType(i));
        } else if (parse_dtype(optarg, &t)) {
          o.types.push_back(t);
        } else {
          return fail("-d", optarg);
        }
        break;
      }
      case 'o': {
        o.ops.clear();
        ReduceOp op;
        if (std::strcmp(optarg, "all") == 0) {
          for (int i = 0; i < kNumReduceOps; ++i) o.ops.push_back(ReduceOp(i));
        } else if (parse_op(optarg, &op)) {
          o.ops.push_back(op);
        } else {
          return fail("-o", optarg);
        }
        break;
      }
      case 'h':
        print_usage(stdout, argv[0]);
        *exit_code = 0;
        return std::nullopt;
      case ':':
        std::fprintf(stderr, "%s: option '%s' needs a value\n", argv[0], argv[optind - 1]);
        return fail(nullptr, nullptr);
      default:
        std::fprintf(stderr, "%s: invalid option '%s'\n", argv[0], argv[optind - 1]);
        return fail(nullptr, nullptr);
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
    return fail(nullptr, nullptr);
  }
  if (o.min_bytes > o.max_bytes) {
    std::fprintf(stderr, "%s: invalid sizes for 'minbytes' and 'maxbytes': %zu > %zu\n", argv[0],
                 o.min_bytes, o.max_bytes);
    return fail(nullptr, nullptr);
  }
  if (o.step_factor == 1 && o.step_bytes == 0 && o.min_bytes < o.max_bytes) {
    std::fprintf(stderr, "%s: -i 0 with -f 1 never reaches maxbytes\n", argv[0]);
    return fail(nullptr, nullptr);
  }
  if (o.step_factor > 1 && o.min_bytes == 0 && o.max_bytes > 0) {
    std::fprintf(stderr, "%s: -b 0 with -f > 1 never reaches maxbytes\n", argv[0]);
    return fail(nullptr, nullptr);
  }
  if (o.graph_launches > 0 && !o.device_buffers) {
    std::fprintf(stderr, "%s: -G %d needs --buffers device (CUDA graphs replay stream calls)\n",
                 argv[0], o.graph_launches);
    return fail(nullptr, nullptr);
  }
  return o;
}

std::size_t rotation_offset(std::size_t total, std::size_t max_bytes, int iter) {
  const std::size_t steps = total ? max_bytes / total : 1;
  return steps ? total * (static_cast<std::size_t>(iter) % steps) : 0;
}

std::vector<std::size_t> size_steps(const PerfOptions& o) {
  std::vector<std::size_t> sizes;
  for (std::size_t s = o.min_bytes; s <= o.max_bytes;) {
    sizes.push_back(s);
    if (o.step_factor > 1) {
      if (s > o.max_bytes / o.step_factor) break;  // the next one is past max (or overflows)
      s *= o.step_factor;
    } else {
      if (o.step_bytes == 0 || s > o.max_bytes - o.step_bytes) break;
      s += o.step_bytes;
    }
  }
  return sizes;
}

}  // namespace colossus::perf
