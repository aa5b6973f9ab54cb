// collectives.cc: allgather, broadcast and barrier over the star of
// connections rank 0 holds (see bootstrap.hpp for the frame counts).
#include <new>

#include "bootstrap/bootstrap.hpp"

namespace colossus::bootstrap {

namespace {

// The allgather table: {u32 n, u64 size[n], the n blobs back to back}.
std::string encode_table(const std::vector<std::string>& blobs) {
  Encoder e;
  e.u32(static_cast<uint32_t>(blobs.size()));
  for (const std::string& b : blobs) e.u64(b.size());
  for (const std::string& b : blobs) e.bytes(b);
  return e.take();
}

uint64_t table_bytes(const std::vector<std::string>& blobs) {
  uint64_t total = 4 + 8 * blobs.size();
  for (const std::string& b : blobs) total += b.size();
  return total;
}

bool decode_table(std::string_view payload, int nranks, std::vector<std::string>* blobs) {
  Decoder d(payload);
  uint32_t n = 0;
  if (!d.u32(&n) || n != static_cast<uint32_t>(nranks)) return false;
  std::vector<uint64_t> sizes(n);
  for (uint64_t& s : sizes) {
    if (!d.u64(&s)) return false;
  }
  blobs->assign(n, std::string());
  for (uint32_t r = 0; r < n; ++r) {
    std::string_view blob;
    if (sizes[r] > d.rest().size() || !d.bytes(static_cast<std::size_t>(sizes[r]), &blob)) {
      return false;
    }
    (*blobs)[r] = std::string(blob);
  }
  return d.rest().empty();
}

}  // namespace

template <typename Body>
auto Bootstrap::guarded(const char* op, Body&& body) {
  if (handed_over_) {
    throw Error(ErrorCode::InvalidUsage,
                "bootstrap rank " + std::to_string(rank_) + "/" + std::to_string(nranks_) + ", " +
                    op +
                    ": its connections are watched (Watch::start took them): no collectives "
                    "after that");
  }
  if (!broken_.empty()) {
    throw Error(broken_code_, "bootstrap rank " + std::to_string(rank_) + "/" +
                                  std::to_string(nranks_) + ", " + op +
                                  ": unusable after an earlier failure: " + broken_);
  }
  const Deadline deadline(timeout_s_);
  try {
    return body(deadline);
  } catch (const Error& e) {
    fail(cancelled_or(op, e));
  } catch (const std::bad_alloc&) {
    fail(error(ErrorCode::SystemError, op, "out of memory"));
  }
}

std::vector<std::string> Bootstrap::allgather(const std::string& mine) {
  return guarded("allgather", [&](const Deadline& deadline) {
    if (mine.size() > kMaxFrameBytes) {
      throw error(ErrorCode::InvalidArgument, "allgather",
                  "a blob of " + std::to_string(mine.size()) + " bytes exceeds the limit of " +
                      std::to_string(kMaxFrameBytes));
    }
    if (nranks_ == 1) return std::vector<std::string>{mine};
    if (rank_ != 0) {
      send_to(0, FrameType::Gather, mine, "allgather", deadline);
      std::vector<std::string> all;
      if (!decode_table(receive_from(0, FrameType::GatherTable, "allgather", deadline), nranks_,
                        &all) ||
          all[static_cast<std::size_t>(rank_)] != mine) {
        throw error(ErrorCode::RemoteError, "allgather", "rank 0 sent a malformed table");
      }
      return all;
    }
    std::vector<std::string> all = gather(FrameType::Gather, "allgather", deadline);
    all[0] = mine;
    if (table_bytes(all) > kMaxFrameBytes) {
      // Every rank learns this from the Abort that fail() sends.
      throw error(ErrorCode::InvalidArgument, "allgather",
                  "the ranks' blobs total " + std::to_string(table_bytes(all)) +
                      " bytes; the bootstrap carries at most " + std::to_string(kMaxFrameBytes) +
                      " per collective");
    }
    send_to_members(FrameType::GatherTable, encode_table(all), "allgather", deadline);
    return all;
  });
}

std::string Bootstrap::broadcast(const std::string& blob, int root) {
  return guarded("broadcast", [&](const Deadline& deadline) {
    if (root < 0 || root >= nranks_) {
      throw error(
          ErrorCode::InvalidArgument, "broadcast",
          "root " + std::to_string(root) + " is out of range 0.." + std::to_string(nranks_ - 1));
    }
    if (rank_ == root && blob.size() + 4 > kMaxFrameBytes) {
      throw error(ErrorCode::InvalidArgument, "broadcast",
                  "a blob of " + std::to_string(blob.size()) + " bytes exceeds the limit of " +
                      std::to_string(kMaxFrameBytes - 4));
    }
    if (nranks_ == 1) return blob;
    // The frame names its root, so ranks that disagree about it find out.
    std::string framed;
    if (rank_ == root) framed = Encoder().u32(static_cast<uint32_t>(root)).bytes(blob).take();
    if (rank_ == root && rank_ != 0) {
      send_to(0, FrameType::Broadcast, framed, "broadcast", deadline);
      return blob;
    }
    if (rank_ == 0 && root != 0)
      framed = receive_from(root, FrameType::Broadcast, "broadcast", deadline);
    if (rank_ != 0) framed = receive_from(0, FrameType::Broadcast, "broadcast", deadline);
    Decoder d(framed);
    uint32_t sender_root = 0;
    if (!d.u32(&sender_root) || sender_root != static_cast<uint32_t>(root)) {
      throw error(ErrorCode::InvalidUsage, "broadcast",
                  "this rank's root is " + std::to_string(root) + " but rank " +
                      std::to_string(rank_ == 0 ? root : 0) + " sent a broadcast from root " +
                      std::to_string(sender_root) + ": all ranks must name the same root");
    }
    if (rank_ == 0) send_to_members(FrameType::Broadcast, framed, "broadcast", deadline, root);
    return std::string(d.rest());
  });
}

void Bootstrap::barrier() {
  guarded("barrier", [&](const Deadline& deadline) {
    if (nranks_ == 1) return;
    if (rank_ != 0) {
      send_to(0, FrameType::BarrierArrive, "", "barrier", deadline);
      receive_from(0, FrameType::BarrierRelease, "barrier", deadline);
      return;
    }
    gather(FrameType::BarrierArrive, "barrier", deadline);
    send_to_members(FrameType::BarrierRelease, "", "barrier", deadline);
  });
}

}  // namespace colossus::bootstrap
