// abi_cpp.cc: the ABI checks and their main (abi_checks.h) compiled as C++,
// so NVIDIA's nccl.h is used from C++ too: one translation unit of the same
// .c files the C program builds.
#include "abi_collectives.c"
#include "abi_faults.c"
#include "abi_launch.c"
#include "abi_main.c"
#include "abi_new_api.c"
#include "abi_support.c"
#include "abi_surface.c"
