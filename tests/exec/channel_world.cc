// channel_world.cc: World (channel_world.hpp): links on demand, and runs.
#include "exec/channel_world.hpp"

#include <stdexcept>

namespace colossus::test::emu {

namespace {

std::uint64_t lookup(const std::map<std::tuple<int, int, int>, std::uint64_t>& m,
                     const std::tuple<int, int, int>& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

World::World(int n, std::size_t slot_bytes, std::uint32_t depth, std::uint64_t base, bool proxy01)
    : n_(n), slot_bytes_(slot_bytes), depth_(depth), base_(base) {
  for (int r = 0; r < n; ++r) abort_.push_back(std::make_unique<volatile int>(0));
  if (proxy01) {
    auto nets = transport::make_loopback_transports(2, slot_bytes, static_cast<int>(depth));
    for (int r = 0; r < 2; ++r)
      proxies_.push_back(std::make_unique<HostProxy>(std::move(nets[static_cast<std::size_t>(r)]),
                                                     slot_bytes, depth,
                                                     abort_[static_cast<std::size_t>(r)].get()));
  }
}

World::~World() { proxies_.clear(); }  // the proxies poll the arenas: stop them first

std::vector<std::string> World::run(const std::vector<plan::Plan>& plans,
                                    const std::vector<std::array<void*, 3>>& buffers) {
  std::vector<std::string> problems;
  const DataType dtype = plans.at(0).args.dtype;
  const ReduceOp op = plans[0].args.op;
  const std::size_t esize = dtype_size(dtype);
  const std::uint64_t piece = slot_bytes_ / esize;

  struct Job {
    int rank = 0, channel = 0;
    EncodedChannel enc;
    std::vector<DeviceConn> conns;  // copied, as into device memory
    std::vector<ConnCheck> checks;
    DeviceWork work;
    DeviceStatus status;
    std::string result;
  };
  std::vector<std::unique_ptr<Job>> jobs;
  // Pieces each (rank, peer, channel) must send and receive, from the Plans.
  std::map<std::tuple<int, int, int>, std::uint64_t> will_send, will_recv;
  for (int r = 0; r < n_; ++r) {
    const plan::Plan& p = plans[static_cast<std::size_t>(r)];
    for (std::size_t c = 0; c < p.channels.size(); ++c) {
      auto job = std::make_unique<Job>();
      job->rank = r;
      job->channel = static_cast<int>(c);
      try {
        job->enc = exec::gpu::encode_channel(p.channels[c]);
      } catch (const std::exception& e) {
        problems.push_back("rank " + std::to_string(r) + " channel " + std::to_string(c) +
                           ": encode_channel: " + e.what());
        continue;
      }
      if (mutate_) mutate_(r, static_cast<int>(c), job->enc);
      for (const plan::Step& s : p.channels[c].steps) {
        const std::uint64_t pieces = (s.count() + piece - 1) / piece;
        if (plan::sends(s.kind)) will_send[{r, s.send_peer, static_cast<int>(c)}] += pieces;
        if (plan::receives(s.kind)) will_recv[{r, s.recv_peer, static_cast<int>(c)}] += pieces;
      }
      if (job->enc.steps.empty()) continue;  // a channel with nothing to do launches no block
      for (const int peer : job->enc.peers) {
        Link& l = link(r, peer, job->channel);
        job->conns.push_back(l.conn);
        ConnCheck k;
        k.shadow_send = l.shadow_send;
        k.recv_sizes = l.proxied ? l.mine->sizes() : l.mine->shadow();
        job->checks.push_back(k);
      }
      DeviceWork& w = job->work;
      w.steps = job->enc.steps.data();
      w.num_steps = static_cast<int>(job->enc.steps.size());
      w.conns = job->conns.data();
      w.num_conns = static_cast<int>(job->conns.size());
      for (int b = 0; b < 3; ++b)
        w.buffers[b] = buffers[static_cast<std::size_t>(r)][static_cast<std::size_t>(b)];
      w.slot_bytes = slot_bytes_;
      w.depth = depth_;
      w.divisor = op == ReduceOp::Avg ? p.args.nranks : 1;  // as stream_executor.cc
      w.timeout_ns = static_cast<std::uint64_t>(timeout_s_ * 1e9);
      w.abort = abort_[static_cast<std::size_t>(r)].get();
      w.status = &job->status;
      jobs.push_back(std::move(job));
    }
  }
  if (!problems.empty()) return problems;

  // Counters before, per link.
  std::map<std::tuple<int, int, int>, std::pair<std::uint64_t, std::uint64_t>> before;
  for (const auto& [key, l] : links_) before[key] = {l->words()[0], l->words()[1]};

  for (auto& p : proxies_) p->kick();
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.reserve(jobs.size());
  for (auto& j : jobs) {
    threads.emplace_back([&, job = j.get()] {
      try {
        job->result = run_channel_on_cpu(job->work, dtype, op, job->checks, stop);
      } catch (const std::exception& e) {
        job->result = std::string("threw: ") + e.what();
      }
      if (!job->result.empty()) stop = true;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& j : jobs) {
    if (j->result.empty()) continue;
    const plan::Plan& p = plans[static_cast<std::size_t>(j->rank)];
    std::string what = "rank " + std::to_string(j->rank) + " channel " +
                       std::to_string(j->channel) + ": " + j->result;
    if (j->status.step >= 0) {
      const auto& steps = p.channels[static_cast<std::size_t>(j->channel)].steps;
      what += " [" + plan::describe(steps[static_cast<std::size_t>(j->status.step)]) + "]";
    }
    problems.push_back(what);
  }
  for (std::size_t r = 0; r < proxies_.size(); ++r) {
    if (!proxies_[r]->error().empty())
      problems.push_back("proxy of rank " + std::to_string(r) + ": " + proxies_[r]->error());
  }
  if (!problems.empty()) return problems;

  return check_counters(before, will_send, will_recv);
}

std::vector<std::string> World::check_counters(
    const std::map<Key, std::pair<std::uint64_t, std::uint64_t>>& before,
    const std::map<Key, std::uint64_t>& will_send,
    const std::map<Key, std::uint64_t>& will_recv) const {
  std::vector<std::string> problems;
  for (const auto& [key, l] : links_) {
    const auto [r, p, c] = key;
    const Link& other = *links_.at({p, r, c});
    const std::uint64_t sent = l->words()[0], received = l->words()[1];
    const std::uint64_t want_sent = before.at(key).first + lookup(will_send, key);
    const std::uint64_t want_recv = before.at(key).second + lookup(will_recv, key);
    std::ostringstream os;
    os << "link rank " << r << " -> " << p << " channel " << c << ": ";
    if (sent != want_sent) os << "sent " << sent << ", the plans send " << want_sent << "; ";
    if (received != want_recv)
      os << "received " << received << ", the plans receive " << want_recv << "; ";
    if (sent != other.words()[1])
      os << "sent " << sent << " but the peer received " << other.words()[1] << "; ";
    if (!l->proxied) {
      // The counters in the peer's arena are this end's.
      if (load_acquire(other.mine->head()) != sent)
        os << "head in the peer's arena " << *other.mine->head() << "; ";
      if (load_acquire(other.mine->tail()) != received)
        os << "tail in the peer's arena " << *other.mine->tail() << "; ";
    } else {
      if (load_acquire(l->proxy_side->head()) != sent)
        os << "head in the proxy-side arena " << *l->proxy_side->head() << "; ";
      if (load_acquire(l->proxy_side->tail()) != received)
        os << "tail in the proxy-side arena " << *l->proxy_side->tail() << "; ";
    }
    const std::string s = os.str();
    if (s.find(';') != std::string::npos) problems.push_back(s);
  }
  return problems;
}

void World::connect(int r, int p, int c) {
  if (links_.count({r, p, c}) != 0) return;
  if (r < 0 || p < 0 || r >= n_ || p >= n_) throw std::runtime_error("link to a rank out of range");
  auto make = [&](int a, int b) {
    auto l = std::make_unique<Link>();
    l->words()[0] = l->words()[1] = base_;
    l->mine = std::make_unique<Arena>(slot_bytes_, depth_, base_);
    l->proxied = proxied(a, b);
    if (l->proxied) l->proxy_side = std::make_unique<Arena>(slot_bytes_, depth_, base_);
    links_[{a, b, c}] = std::move(l);
  };
  make(r, p);
  if (p != r) make(p, r);
  for (const auto& [a, b] : {std::pair{r, p}, std::pair{p, r}}) {
    Link& mine = *links_.at({a, b, c});
    Link& theirs = *links_.at({b, a, c});
    if (mine.proxied) {
      const ArenaPointers in = mine.mine->pointers(), out = mine.proxy_side->pointers();
      mine.conn = wire_conn(in, out, true, mine.words());
      HostProxy& proxy = *proxies_.at(static_cast<std::size_t>(a));
      proxy.add_send(b, c, proxy_send_ring(in, out));
      proxy.add_recv(b, c, proxy_recv_ring(in, out));
    } else {
      mine.conn = wire_conn(mine.mine->pointers(), theirs.mine->pointers(), false, mine.words());
      mine.shadow_send = theirs.mine->shadow();
    }
    if (a == b) break;
  }
}

}  // namespace colossus::test::emu
