#include "plan/symbolic.hpp"

#include <algorithm>
#include <iterator>

namespace colossus::plan {

namespace {

std::string range(std::size_t b, std::size_t e) {
  return "[" + std::to_string(b) + "," + std::to_string(e) + ")";
}

std::string input_range(const Run& r) {
  const int64_t b = static_cast<int64_t>(r.begin) + r.value.shift;
  const int64_t e = static_cast<int64_t>(r.end) + r.value.shift;
  return "[" + std::to_string(b) + "," + std::to_string(e) + ")";
}

// The ranks of a world of `nranks` that `s` lacks.
RankSet missing(const RankSet& s, int nranks) {
  RankSet out(nranks);
  for (int r = 0; r < nranks; ++r) {
    if (!s.contains(r)) out.insert(r);
  }
  return out;
}

}  // namespace

void append(Runs& runs, std::size_t begin, std::size_t end, const Value& v) {
  if (begin == end) return;
  if (!runs.empty() && runs.back().end == begin && runs.back().value == v) {
    runs.back().end = end;
    return;
  }
  runs.push_back(Run{begin, end, v});
}

std::string describe(const Run& r) {
  std::string s = "ranks " + r.value.ranks.to_string() + " input" + input_range(r);
  if (r.value.finalized) s += " finalized";
  return s;
}

std::string reduce(const Operand& a, const Operand& b, Runs* out) {
  out->clear();
  std::size_t i = 0, j = 0;
  // Walk both run lists together; each piece is the overlap of one run of each.
  while (i < a.runs->size() && j < b.runs->size()) {
    const Run& ra = (*a.runs)[i];
    const Run& rb = (*b.runs)[j];
    const std::size_t lo = std::max(ra.begin, rb.begin), hi = std::min(ra.end, rb.end);
    const Value& va = ra.value;
    const Value& vb = rb.value;
    auto where = [&] { return "at elements " + range(lo, hi) + " of the slice"; };
    if (va.finalized || vb.finalized) {
      return "reduces a finalized value " + where() + " (" + (va.finalized ? a.name() : b.name()) +
             "): finalize must come after the last reduction";
    }
    if (va.ranks.intersects(vb.ranks)) {
      return "reduces rank sets " + va.ranks.to_string() + " (" + a.name() + ") and " +
             vb.ranks.to_string() + " (" + b.name() + ") " + where() + " which overlap: rank(s) " +
             va.ranks.intersection(vb.ranks).to_string() + " counted twice";
    }
    if (va.shift != vb.shift) {
      const int64_t ia = static_cast<int64_t>(lo) + va.shift;
      const int64_t ib = static_cast<int64_t>(lo) + vb.shift;
      return "misaligned reduction " + where() + ": " + a.name() + " holds input element " +
             std::to_string(ia) + " where " + b.name() + " holds input element " +
             std::to_string(ib);
    }
    Value v = va;
    v.ranks.unite(vb.ranks);
    append(*out, lo, hi, v);
    if (ra.end == hi) ++i;
    if (rb.end == hi) ++j;
  }
  return "";
}

std::string finalize(Runs& runs, int nranks) {
  for (Run& r : runs) {
    if (r.value.finalized) {
      return "finalizes elements " + range(r.begin, r.end) + " of the slice twice (" + describe(r) +
             ")";
    }
    if (r.value.ranks.size() != nranks) {
      return "finalizes a partial reduction at elements " + range(r.begin, r.end) +
             " of the slice (" + describe(r) + "; missing ranks " +
             missing(r.value.ranks, nranks).to_string() + ")";
    }
    r.value.finalized = true;
  }
  return "";
}

bool IntervalMap::read(std::size_t offset, std::size_t count, Runs* out, Gap* gap) const {
  out->clear();
  const std::size_t end = offset + count;
  auto it = map_.upper_bound(offset);
  if (it != map_.begin() && std::prev(it)->second.end > offset) --it;
  std::size_t pos = offset;
  while (pos < end) {
    if (it == map_.end() || it->first > pos) {
      *gap = {pos, it == map_.end() ? end : std::min(end, it->first)};
      return false;
    }
    const std::size_t hi = std::min(end, it->second.end);
    Value v = it->second.value;
    v.shift += static_cast<int64_t>(offset);  // absolute -> relative to the slice
    append(*out, pos - offset, hi - offset, v);
    pos = hi;
    ++it;
  }
  return true;
}

bool IntervalMap::written(std::size_t offset, std::size_t count, Gap* first) const {
  if (count == 0) return false;
  const std::size_t end = offset + count;
  auto it = map_.upper_bound(offset);
  if (it != map_.begin() && std::prev(it)->second.end > offset) --it;
  if (it == map_.end() || it->first >= end) return false;
  *first = {std::max(offset, it->first), std::min(end, it->second.end)};
  return true;
}

void IntervalMap::place(Map::iterator next, std::size_t begin, std::size_t end, const Value& v) {
  if (next != map_.begin()) {
    auto prev = std::prev(next);
    if (prev->second.end == begin && prev->second.value == v) {
      prev->second.end = end;  // continues its predecessor: no new interval
      return;
    }
  }
  map_.emplace_hint(next, begin, Entry{end, v});
}

void IntervalMap::write(std::size_t offset, const Runs& runs) {
  if (runs.empty()) return;
  const std::size_t end = offset + runs.back().end;
  // Clear [offset, end), keeping the parts of straddling entries outside it.
  auto it = map_.lower_bound(offset);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > offset) {
      if (prev->second.end > end) {  // covers the whole range: keep its tail too
        it = map_.emplace_hint(it, end, Entry{prev->second.end, prev->second.value});
      }
      prev->second.end = offset;  // shifts are absolute: trimming keeps the mapping
    }
  }
  while (it != map_.end() && it->first < end) {
    if (it->second.end <= end) {
      it = map_.erase(it);
      continue;
    }
    auto node = map_.extract(it++);  // straddles `end`: re-key its tail in place
    node.key() = end;
    it = map_.insert(it, std::move(node));
    break;
  }
  for (const Run& r : runs) {
    Value v = r.value;
    v.shift -= static_cast<int64_t>(offset);  // relative -> absolute
    place(it, offset + r.begin, offset + r.end, v);
  }
  // The entry after the range may continue the last run.
  if (it != map_.end() && it->first == end && it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end == end && prev->second.value == it->second.value) {
      prev->second.end = it->second.end;
      map_.erase(it);
    }
  }
}

}  // namespace colossus::plan
