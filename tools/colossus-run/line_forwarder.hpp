// Copies one child stream (a rank's stdout or stderr) to one of our streams a
// whole line at a time, each line optionally prefixed with "[rank] ".
//
// colossus-run is the only writer of its stdout/stderr and writes each batch
// of complete lines with one write_all(), so lines of different ranks never
// interleave mid-line however the ranks' own writes were split. Not thread
// safe: one event loop owns every forwarder.
#pragma once

#include <cstddef>
#include <string>

namespace colossus::run {

class LineForwarder {
 public:
  // A line longer than this without a newline is emitted in pieces, each
  // ended by a newline we add, so a rank that never prints '\n' cannot grow
  // colossus-run's memory without bound.
  static constexpr std::size_t kMaxLine = 1 << 20;

  LineForwarder(int sink_fd, std::string prefix) : sink_(sink_fd), prefix_(std::move(prefix)) {}

  void feed(const char* data, std::size_t n);
  // End of stream: a last line without '\n' is emitted with one.
  void finish();
  // The sink's reader is gone (EPIPE): output is dropped from then on.
  bool broken() const { return sink_ < 0; }

 private:
  void emit(const std::string& text);

  int sink_;
  std::string prefix_;
  std::string partial_;  // bytes after the last '\n' seen
};

// Writes all of text to fd, waiting out EINTR/EAGAIN. Returns false when the
// reader is gone (EPIPE) or the fd is broken; the caller drops output then.
bool write_all(int fd, const char* data, std::size_t n);

}  // namespace colossus::run
