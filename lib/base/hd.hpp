// hd.hpp: COLOSSUS_HD marks functions that host code and CUDA kernels share
// (the reduction arithmetic, the step table): written once, compiled by the
// host compiler for the CPU paths and tests and by nvcc for the device-side
// executor, so the CPU tests also test the GPU code.
//
// COLOSSUS_HD_INLINE also forces inlining: a conversion left out of line is a
// call inside the kernel loop, and a loop with a call does not vectorize. The
// inliner's budget runs out in the larger kernels (fp16 two per word) otherwise.
#pragma once

#if defined(__CUDACC__)
#define COLOSSUS_HD __host__ __device__
#define COLOSSUS_HD_INLINE __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define COLOSSUS_HD
#define COLOSSUS_HD_INLINE inline __attribute__((always_inline))
#else
#define COLOSSUS_HD
#define COLOSSUS_HD_INLINE inline
#endif
