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
// (the channel kernel) uses the same table as host code.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace colossus::plan {

enum class StepKind : std::uint8_t {
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
enum class StepOperand : std::uint8_t { None, Msg, Src, Dst, Slot };

// A step's reduce-copy: in[1] != None reduces in[0] (+) in[1].
struct StepIO {
  StepOperand in[2];
  StepOperand out[2];
  COLOSSUS_HD constexpr bool reads(StepOperand o) const { return in[0] == o || in[1] == o; }
  COLOSSUS_HD constexpr bool writes(StepOperand o) const { return out[0] == o || out[1] == o; }
};

// The table above. A value outside StepKind reads and writes nothing.
COLOSSUS_HD constexpr StepIO step_io(StepKind k) {
  using O = StepOperand;
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

COLOSSUS_HD constexpr bool receives(StepKind k) { return step_io(k).reads(StepOperand::Msg); }
COLOSSUS_HD constexpr bool sends(StepKind k) { return step_io(k).writes(StepOperand::Slot); }
COLOSSUS_HD constexpr bool reads_src(StepKind k) { return step_io(k).reads(StepOperand::Src); }
COLOSSUS_HD constexpr bool writes_dst(StepKind k) { return step_io(k).writes(StepOperand::Dst); }
COLOSSUS_HD constexpr bool reduces(StepKind k) { return step_io(k).in[1] != StepOperand::None; }

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
  COLOSSUS_HD constexpr bool nothing_to_do(int divisor) const {
    return num_inputs == 1 && num_outputs == 1 && in[0] == out[0] && divisor <= 1;
  }
};

COLOSSUS_HD constexpr const void* input(StepOperand o, const PiecePointers& p) {
  return o == StepOperand::Msg   ? p.msg
         : o == StepOperand::Src ? p.src
         : o == StepOperand::Dst ? p.dst
                                 : nullptr;
}
COLOSSUS_HD constexpr void* output(StepOperand o, const PiecePointers& p) {
  return o == StepOperand::Dst ? p.dst : o == StepOperand::Slot ? p.slot : nullptr;
}

// One kind's binding, its row a constant.
template <StepKind K>
COLOSSUS_HD constexpr void bind_row(const PiecePointers& p, PieceOperands& ops) {
  constexpr StepIO io = step_io(K);
  ops.in[0] = input(io.in[0], p);
  if constexpr (io.in[1] != StepOperand::None) {
    ops.in[1] = input(io.in[1], p);
    ops.num_inputs = 2;
  }
  ops.out[0] = output(io.out[0], p);
  if constexpr (io.out[1] != StepOperand::None) {
    ops.out[1] = output(io.out[1], p);
    ops.num_outputs = 2;
  }
}

// A step's operands at one piece; a value outside StepKind binds nothing
// (null pointers). (Dispatched per kind, each row a constant: device code
// then keeps just that kind's pointers live, in registers.)
COLOSSUS_HD constexpr PieceOperands bind(StepKind k, const PiecePointers& p) {
  PieceOperands ops;
  ops.num_inputs = 1;
  ops.num_outputs = 1;
  switch (k) {
    case StepKind::Send: bind_row<StepKind::Send>(p, ops); break;
    case StepKind::Recv: bind_row<StepKind::Recv>(p, ops); break;
    case StepKind::RecvReduce: bind_row<StepKind::RecvReduce>(p, ops); break;
    case StepKind::RecvReduceSend: bind_row<StepKind::RecvReduceSend>(p, ops); break;
    case StepKind::RecvCopySend: bind_row<StepKind::RecvCopySend>(p, ops); break;
    case StepKind::RecvReduceCopySend: bind_row<StepKind::RecvReduceCopySend>(p, ops); break;
    case StepKind::Copy: bind_row<StepKind::Copy>(p, ops); break;
    case StepKind::Reduce: bind_row<StepKind::Reduce>(p, ops); break;
  }
  return ops;
}

// Every kind has a first input and a first output (bind relies on it).
COLOSSUS_HD constexpr bool rows_packed() {
  for (int k = 0; k <= static_cast<int>(StepKind::Reduce); ++k) {
    const StepIO io = step_io(static_cast<StepKind>(k));
    if (io.in[0] == StepOperand::None || io.out[0] == StepOperand::None) return false;
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
