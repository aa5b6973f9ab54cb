// trace.cc: TraceRecorder -> Chrome trace event JSON, streamed.
//
// A folded run of 100k ranks, or an unfolded one of a few thousand, records
// millions of events: they are written one by one through a small stack
// buffer, never gathered into one string. Numbers are printed with "%.3f"
// (microseconds to the nanosecond, what displayTimeUnit "ns" can show).
#include "sim/trace.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <utility>

namespace colossus::sim {

namespace {

// JSON string literal (with its quotes): escapes '"', '\\' and every control
// character; other bytes, UTF-8 included, pass through.
void write_json_string(std::ostream& out, const std::string& s) {
  out.put('"');
  std::size_t plain = 0;  // start of the run of bytes not yet written
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    char buf[8];
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        if (c < 0x20) {
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          esc = buf;
        }
    }
    if (!esc) continue;
    out.write(s.data() + plain, static_cast<std::streamsize>(i - plain));
    out << esc;
    plain = i + 1;
  }
  out.write(s.data() + plain, static_cast<std::streamsize>(s.size() - plain));
  out.put('"');
}

// Writes `len` bytes of `buf` as produced by snprintf (clamped: a longer
// line was cut, which the fixed formats below cannot produce).
void put(std::ostream& out, const char* buf, int len, std::size_t cap) {
  if (len > 0) out.write(buf, static_cast<std::streamsize>(std::min<std::size_t>(len, cap - 1)));
}

// A non-finite time would make the document invalid JSON ("nan"): written as 0.
double finite(double x) { return std::isfinite(x) ? x : 0.0; }

// Separates events: ",\n" before all but the first.
class EventList {
 public:
  explicit EventList(std::ostream& out) : out_(out) {}
  std::ostream& next() {
    out_ << (first_ ? "\n" : ",\n");
    first_ = false;
    return out_;
  }

 private:
  std::ostream& out_;
  bool first_ = true;
};

void write_metadata(EventList& events, const TraceRecorder& trace) {
  // Every (rank, channel) that appears in a step or at either end of a flow
  // gets its names, so Perfetto labels each track once.
  std::vector<std::pair<int, int>> tracks;
  tracks.reserve(trace.steps.size() / 4 + 16);
  for (const TraceStep& s : trace.steps) {
    if (tracks.empty() || tracks.back() != std::make_pair(s.rank, s.channel)) {
      tracks.emplace_back(s.rank, s.channel);
    }
  }
  for (const TraceFlow& f : trace.flows) {
    tracks.emplace_back(f.from_rank, f.from_channel);
    tracks.emplace_back(f.to_rank, f.to_channel);
  }
  std::sort(tracks.begin(), tracks.end());
  tracks.erase(std::unique(tracks.begin(), tracks.end()), tracks.end());

  char buf[256];
  int last_rank = -1;
  for (const auto& [rank, channel] : tracks) {
    if (rank != last_rank) {
      const int n = std::snprintf(buf, sizeof buf,
                                  "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
                                  "\"args\":{\"name\":\"rank %d\"}},\n"
                                  "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,"
                                  "\"tid\":0,\"args\":{\"sort_index\":%d}}",
                                  rank, rank, rank, rank);
      put(events.next(), buf, n, sizeof buf);
      last_rank = rank;
    }
    const int n = std::snprintf(buf, sizeof buf,
                                "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
                                "\"args\":{\"name\":\"channel %d\"}}",
                                rank, channel, channel);
    put(events.next(), buf, n, sizeof buf);
  }
}

}  // namespace

void write_chrome_trace(std::ostream& out, const TraceRecorder& trace, const std::string& title) {
  out << "{\"traceEvents\":[";
  EventList events(out);
  write_metadata(events, trace);

  char buf[512];
  for (const TraceStep& s : trace.steps) {
    const int n = std::snprintf(
        buf, sizeof buf,
        "{\"ph\":\"X\",\"name\":\"%s\",\"cat\":\"step\",\"pid\":%d,\"tid\":%d,\"ts\":%.3f,"
        "\"dur\":%.3f,\"args\":{\"bytes\":%" PRIu64
        ",\"send_peer\":%d,\"recv_peer\":%d,"
        "\"step\":%zu}}",
        plan::to_string(s.kind), s.rank, s.channel, finite(s.start_us),
        std::max(0.0, finite(s.end_us - s.start_us)), s.bytes, s.send_peer, s.recv_peer, s.index);
    put(events.next(), buf, n, sizeof buf);
  }
  // Flow ids only need to be unique within the trace: the flow's index.
  std::uint64_t id = 0;
  for (const TraceFlow& f : trace.flows) {
    const int n =
        std::snprintf(buf, sizeof buf,
                      "{\"ph\":\"s\",\"name\":\"msg\",\"cat\":\"msg\",\"id\":%" PRIu64
                      ",\"pid\":%d,\"tid\":%d,\"ts\":%.3f},\n"
                      "{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"msg\",\"cat\":\"msg\",\"id\":%" PRIu64
                      ",\"pid\":%d,\"tid\":%d,\"ts\":%.3f}",
                      id, f.from_rank, f.from_channel, finite(f.sent_us), id, f.to_rank,
                      f.to_channel, finite(f.received_us));
    put(events.next(), buf, n, sizeof buf);
    ++id;
  }

  out << "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"title\":";
  write_json_string(out, title);
  out << ",\"steps\":" << trace.steps.size() << ",\"flows\":" << trace.flows.size()
      << ",\"dropped\":" << trace.dropped << "}}\n";
}

}  // namespace colossus::sim
