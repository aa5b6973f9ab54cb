#include "colossus-run/line_forwarder.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace colossus::run {

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w > 0) {
      data += w;
      n -= static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Someone handed us a non-blocking stdout: wait until it drains.
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

void LineForwarder::emit(const std::string& text) {
  if (sink_ < 0 || text.empty()) return;
  if (!write_all(sink_, text.data(), text.size())) sink_ = -1;  // reader gone: drop, keep going
}

void LineForwarder::feed(const char* data, std::size_t n) {
  std::string out;
  const char* end = data + n;
  while (data < end) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', end - data));
    if (!nl) {
      partial_.append(data, end);
      if (partial_.size() >= kMaxLine) {
        out += prefix_ + partial_ + '\n';
        partial_.clear();
      }
      break;
    }
    out += prefix_;
    out += partial_;
    out.append(data, nl + 1);
    partial_.clear();
    data = nl + 1;
  }
  emit(out);
}

void LineForwarder::finish() {
  if (partial_.empty()) return;
  emit(prefix_ + partial_ + '\n');
  partial_.clear();
}

}  // namespace colossus::run
