// step_io.hpp: what each StepKind reads and writes, written once.
//
// Every executor of a Plan (the host executor, lib/exec/executor.cc; the
// device channel kernel, lib/exec/cuda/channel_loop.hpp; the tests) moves a
// Step piece by piece with one fused reduce-copy: up to two inputs, reduced
// with the call's op when there are two, stored to up to two outputs. Which
// operand is which is this table (the semantics are plan.hpp's):
//
//   kind                inputs        outputs
//   Send                src           slot
//   Recv                msg           dst
//   RecvReduce          msg, src      dst
//   RecvReduceSend      msg, src      slot
//   RecvCopySend        msg           dst, slot
//   RecvReduceCopySend  msg, src      dst, slot
//   Copy                src           dst
//   Reduce              dst, src      dst
//
// "msg" is the received message's piece, "slot" the piece of the message
// being sent, "src" and "dst" the step's local slices at the piece's offset.
// The predicates (receives, sends, ...) derive from it.
//
// Plain constexpr code with no library dependence, so that nvcc device code
// (the channel kernel) uses the same table as host code. (The plan layer sits
// below reduce, whose reduce/hd.hpp defines the project's host-device macro,
// so this header names its own.)
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define COLOSSUS_STEP_HD __host__ __device__
#else
#define COLOSSUS_STEP_HD
#endif

namespace colossus::plan {

enum class StepKind : uint8_t {
  Send,
  Recv,
  RecvReduce,
  RecvReduceSend,
  RecvCopySend,
  RecvReduceCopySend,
  Copy,
  Reduce,
};

// One operand of a step's reduce-copy.
enum class Operand : uint8_t { None, Msg, Src, Dst, Slot };

// A step's reduce-copy: in[1] != None reduces in[0] (+) in[1].
struct StepIO {
  Operand in[2];
  Operand out[2];
  COLOSSUS_STEP_HD constexpr bool reads(Operand o) const { return in[0] == o || in[1] == o; }
  COLOSSUS_STEP_HD constexpr bool writes(Operand o) const { return out[0] == o || out[1] == o; }
};

// The table above. A value outside StepKind reads and writes nothing.
COLOSSUS_STEP_HD constexpr StepIO step_io(StepKind k) {
  using O = Operand;
  switch (k) {
    case StepKind::Send: return {{O::Src, O::None}, {O::Slot, O::None}};
    case StepKind::Recv: return {{O::Msg, O::None}, {O::Dst, O::None}};
    case StepKind::RecvReduce: return {{O::Msg, O::Src}, {O::Dst, O::None}};
    case StepKind::RecvReduceSend: return {{O::Msg, O::Src}, {O::Slot, O::None}};
    case StepKind::RecvCopySend: return {{O::Msg, O::None}, {O::Dst, O::Slot}};
    case StepKind::RecvReduceCopySend: return {{O::Msg, O::Src}, {O::Dst, O::Slot}};
    case StepKind::Copy: return {{O::Src, O::None}, {O::Dst, O::None}};
    case StepKind::Reduce: return {{O::Dst, O::Src}, {O::Dst, O::None}};
  }
  return {{O::None, O::None}, {O::None, O::None}};
}

COLOSSUS_STEP_HD constexpr bool receives(StepKind k) { return step_io(k).reads(Operand::Msg); }
COLOSSUS_STEP_HD constexpr bool sends(StepKind k) { return step_io(k).writes(Operand::Slot); }
COLOSSUS_STEP_HD constexpr bool reads_src(StepKind k) { return step_io(k).reads(Operand::Src); }
COLOSSUS_STEP_HD constexpr bool writes_dst(StepKind k) { return step_io(k).writes(Operand::Dst); }
COLOSSUS_STEP_HD constexpr bool reduces(StepKind k) { return step_io(k).in[1] != Operand::None; }

// The addresses of one piece's operands; null where the step has none.
struct PiecePointers {
  const void* msg = nullptr;
  const void* src = nullptr;
  void* dst = nullptr;
  void* slot = nullptr;
};

// A step's reduce-copy operands bound to one piece's addresses.
struct PieceOperands {
  const void* in[2] = {nullptr, nullptr};  // in[1] null: a copy of in[0]
  void* out[2] = {nullptr, nullptr};       // out[1] null: one output
  int num_inputs = 0;
  int num_outputs = 0;
  // A copy of a buffer onto itself with no finalize (an in-place Copy) has
  // nothing to do.
  COLOSSUS_STEP_HD constexpr bool nothing_to_do(int divisor) const {
    return num_inputs == 1 && num_outputs == 1 && in[0] == out[0] && divisor <= 1;
  }
};

COLOSSUS_STEP_HD constexpr const void* input(Operand o, const PiecePointers& p) {
  return o == Operand::Msg   ? p.msg
         : o == Operand::Src ? p.src
         : o == Operand::Dst ? p.dst
                             : nullptr;
}
COLOSSUS_STEP_HD constexpr void* output(Operand o, const PiecePointers& p) {
  return o == Operand::Dst ? p.dst : o == Operand::Slot ? p.slot : nullptr;
}

// (Constant indices only: device code keeps the operands in registers. A row
// of the table never has in[1] or out[1] without in[0] or out[0].)
COLOSSUS_STEP_HD constexpr PieceOperands bind(StepKind k, const PiecePointers& p) {
  const StepIO io = step_io(k);
  PieceOperands ops;
  ops.in[0] = input(io.in[0], p);
  ops.in[1] = input(io.in[1], p);
  ops.out[0] = output(io.out[0], p);
  ops.out[1] = output(io.out[1], p);
  ops.num_inputs = (io.in[0] != Operand::None ? 1 : 0) + (io.in[1] != Operand::None ? 1 : 0);
  ops.num_outputs = (io.out[0] != Operand::None ? 1 : 0) + (io.out[1] != Operand::None ? 1 : 0);
  return ops;
}

// Every kind has a first input and a first output (bind relies on it).
COLOSSUS_STEP_HD constexpr bool rows_packed() {
  for (int k = 0; k <= static_cast<int>(StepKind::Reduce); ++k) {
    const StepIO io = step_io(static_cast<StepKind>(k));
    if (io.in[0] == Operand::None || io.out[0] == Operand::None) return false;
  }
  return true;
}
static_assert(rows_packed());
// The table's rows as plan.hpp states the semantics.
static_assert(receives(StepKind::RecvCopySend) && !receives(StepKind::Send));
static_assert(sends(StepKind::RecvReduceSend) && !sends(StepKind::RecvReduce));
static_assert(!writes_dst(StepKind::RecvReduceSend) && writes_dst(StepKind::Reduce));
static_assert(reduces(StepKind::Reduce) && !reduces(StepKind::RecvCopySend));

}  // namespace colossus::plan
