// trace_test.cc: a recorded run written as a Chrome trace is well-formed
// JSON with one slice per simulated step and a matched flow arrow per
// message, inside the run's virtual time.
#include "sim/trace.hpp"

#include <map>
#include <set>
#include <sstream>
#include <string>

#include "catch.hpp"
#include "json_lite.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;
using json_lite::Value;

namespace {

struct Expected {
  std::size_t steps = 0, sends = 0;
  std::map<std::string, std::size_t> kinds;  // step kind name -> steps
  std::set<int> ranks;
};

Expected expected_of(const Layout& l, const CollArgs& a, Algo algo, AlgoParams p,
                     const std::set<int>& ranks) {
  Expected e;
  e.ranks = ranks;
  p.layout = &l;
  for (const int r : ranks) {
    const colossus::plan::Plan plan = colossus::algorithms::make_plan(algo, a, r, p);
    for (const auto& ch : plan.channels) {
      for (const auto& st : ch.steps) {
        ++e.steps;
        e.sends += colossus::plan::sends(st.kind) ? 1 : 0;
        ++e.kinds[colossus::plan::to_string(st.kind)];
      }
    }
  }
  return e;
}

double num(const Value& ev, const char* key) {
  REQUIRE(ev.has(key));
  REQUIRE(ev.at(key).is(Value::Type::Number));
  return ev.at(key).num;
}

// Parses the trace of `rec` and checks it against `e` and the run's time.
void check_trace(const colossus::sim::TraceRecorder& rec, const SimResult& res, const Expected& e) {
  CHECK(rec.dropped == 0);
  CHECK(rec.steps.size() == e.steps);
  CHECK(rec.flows.size() == e.sends);
  CHECK(res.steps == e.steps);

  std::ostringstream os;
  colossus::sim::write_chrome_trace(os, rec, "ring allreduce test");
  const std::string text = os.str();
  Value doc;
  REQUIRE_NOTHROW(doc = json_lite::parse(text));
  REQUIRE(doc.is(Value::Type::Object));
  REQUIRE(doc.has("traceEvents"));
  const Value& events = doc.at("traceEvents");
  REQUIRE(events.is(Value::Type::Array));

  const double tmax = res.time_us * (1 + 1e-9) + 1e-3;  // writers may round to the nanosecond
  std::size_t slices = 0;
  std::map<std::string, std::size_t> kinds;
  std::map<std::string, int> starts, finishes;  // flow id -> events
  std::set<int> named;
  for (const Value& ev : events.arr) {
    REQUIRE(ev.is(Value::Type::Object));
    REQUIRE(ev.has("ph"));
    const std::string ph = ev.at("ph").str;
    if (ph == "M") {
      if (ev.has("name") && ev.at("name").str == "process_name" && ev.has("args") &&
          ev.at("args").has("name")) {
        const std::string name = ev.at("args").at("name").str;
        for (const int r : e.ranks) {
          if (name == "rank " + std::to_string(r)) named.insert(r);
        }
      }
      continue;
    }
    const double ts = num(ev, "ts");
    CHECK(ts >= 0);
    CHECK(ts <= tmax);
    if (ph == "X") {
      ++slices;
      const double dur = num(ev, "dur");
      CHECK(dur >= 0);
      CHECK(ts + dur <= tmax);
      REQUIRE(ev.has("name"));
      ++kinds[ev.at("name").str];
    } else if (ph == "s" || ph == "f") {
      REQUIRE(ev.has("id"));
      const Value& id = ev.at("id");
      const std::string key = id.is(Value::Type::String) ? id.str : std::to_string(id.num);
      ++(ph == "s" ? starts : finishes)[key];
    }
  }
  CHECK(slices == e.steps);
  CHECK(kinds == e.kinds);  // slice names are the step kinds, one per step
  std::size_t nstarts = 0;
  for (const auto& [id, k] : starts) {
    INFO("flow id " << id);
    CHECK(k == 1);
    CHECK(finishes.count(id) == 1);
    CHECK(finishes[id] == 1);
    nstarts += static_cast<std::size_t>(k);
  }
  CHECK(nstarts == e.sends);  // one arrow per message
  CHECK(finishes.size() == starts.size());
  CHECK(named == e.ranks);
}

}  // namespace

TEST_CASE("chrome trace of a 4-rank ring allreduce over 2 channels") {
  Rates r;
  r.local_gbps = 500;
  const Layout l = Layout::single_node(4);
  const Fabric f = Fabric::uniform(l, model_of(r));
  const CollArgs a = args_of(Collective::AllReduce, 2 * (524288 + 4096) + 100,
                             4);  // 2 loops per channel, uneven blocks
  const AlgoParams p = params_of(2);
  colossus::sim::TraceRecorder rec;
  const SimResult res = run(f, a, Algo::Ring, p, /*fold=*/false, &rec);
  REQUIRE(res.time_us > 0);
  const Expected e = expected_of(l, a, Algo::Ring, p, {0, 1, 2, 3});
  check_trace(rec, res, e);

  // Recorded steps cover the run: the last one ends at the result's time.
  double last = 0;
  for (const auto& s : rec.steps) {
    CHECK(s.start_us <= s.end_us);
    last = std::max(last, s.end_us);
  }
  CHECK(rel_err(last, res.time_us) < 1e-12);
  for (const auto& fl : rec.flows) CHECK(fl.sent_us <= fl.received_us);
}

TEST_CASE("chrome trace of a folded run holds the representatives only") {
  Rates r;
  const Layout l = Layout::blocks(2, 2);
  const Fabric f = Fabric::uniform(l, model_of(r));
  const CollArgs a = args_of(Collective::AllReduce, 4096, 4);
  colossus::sim::TraceRecorder rec;
  const SimResult res = run(f, a, Algo::Ring, params_of(2), /*fold=*/true, &rec);
  REQUIRE(res.folding.active());
  REQUIRE(res.slots == 2);
  check_trace(rec, res, expected_of(l, a, Algo::Ring, params_of(2), {0, 1}));
}

// The checker itself: it must reject what Chrome's loader would.
TEST_CASE("json_lite parses JSON and rejects malformed documents") {
  const Value v = json_lite::parse(R"( {"a": [1, -2.5e3, "x\"y\u0041", true, null], "b": {}} )");
  REQUIRE(v.at("a").arr.size() == 5);
  CHECK(v.at("a").arr[1].num == -2500);
  CHECK(v.at("a").arr[2].str == "x\"yA");
  CHECK(v.at("a").arr[3].b);
  CHECK(v.at("a").arr[4].is(Value::Type::Null));
  CHECK(v.at("b").is(Value::Type::Object));
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[01]", "[1.]", "\"abc",
                          "[nan]", "{\"a\":1} x", "[\"\t\"]", "{a:1}"}) {
    INFO(bad);
    CHECK_THROWS(json_lite::parse(bad));
  }
}
