// stream.hpp: one direction of a (peer, channel) stream: its slots, its
// sockets, and moving frames between them (framing in wire.hpp).
//
// Ownership and threads: a SlotRing (slot_ring.hpp) is shared by the
// executor (through an endpoint) and the progress thread. Everything else
// here (the connections and their cursors) belongs to the progress thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bootstrap/socket.hpp"
#include "transports/slot_ring.hpp"
#include "transports/tcp/wire.hpp"

namespace colossus::transport {
struct TcpStats;
}

namespace colossus::transport::tcp {

using transport::SlotRing;

// One TCP connection of a stream and how far it got through the frames.
struct Conn {
  bootstrap::Fd fd;
  int index = 0;            // socket index within the stream
  bool connecting = false;  // sender: non-blocking connect not finished
  bool used = false;        // receiver: this index was connected once
  uint64_t msg = 0;         // message whose frame this socket is on
  std::size_t off = 0;      // bytes of that frame already moved
  Hello hello;              // sender: written before any frame
  std::size_t hello_off = sizeof(Hello);
};

// What one I/O attempt on a connection found.
struct IoResult {
  bool moved = false;        // some bytes went through
  bool closed = false;       // the connection is finished: peer EOF or error
  int err = 0;               // with closed: the errno, 0 for an orderly EOF
  bool mid_message = false;  // with closed: part of a frame was still due
};

struct SendStream {
  SendStream(int peer, int channel, std::size_t slot_bytes, int depth, int nsockets);
  // Writes as much as the socket takes of what is committed.
  IoResult write(Conn& c, TcpStats& stats);
  // A send socket never receives data: readable means the peer closed it.
  IoResult check_closed(Conn& c);
  bool has_output(const Conn& c) const;
  // Frees slots that every socket has finished; true if any was freed.
  bool advance_tail(TcpStats& stats);
  bool flushed() const;

  const int peer;
  const int channel;
  const int nsockets;
  SlotRing ring;
  std::vector<Conn> conns;
};

struct RecvStream {
  RecvStream(int peer, int channel, std::size_t slot_bytes, int depth);
  // Reads what fits into free slots; false from can_read means the socket
  // must not be polled until a slot is released or a header arrives.
  bool can_read(const Conn& c) const;
  IoResult read(Conn& c);
  // Publishes messages that every socket has finished; true if any was.
  bool advance_head(TcpStats& stats);
  // Socket 0 closed in order (between frames) and every socket has finished
  // its pieces of the messages announced: nothing more can arrive.
  bool sender_done() const;
  // The problem with a frame header just read, or "" when it is sound.
  std::string protocol_error;

  const int peer;
  const int channel;
  int nsockets = 0;            // from the first hello; 0 = nothing connected yet
  uint64_t headers = 0;        // messages whose header socket 0 has read
  bool header_closed = false;  // socket 0 closed in order: no more headers
  SlotRing ring;
  std::vector<Conn> conns;  // nsockets entries once known

 private:
  void skip_empty(Conn& c);
};

}  // namespace colossus::transport::tcp
