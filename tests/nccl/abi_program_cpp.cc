// abi_program_cpp.cc: abi_program.c compiled as C++ (NVIDIA's header in C++ mode).
#include "abi_program.c"
