#include "sim/simulation.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "router/peer_sample.h"
#include "router/route_candidates.h"
#include "sim/digest_size.h"
#include "sim/hash.h"
#include "sim/sim_cluster.h"

namespace epara::sim {
namespace internal {
namespace {

// A real node's epoch is its start time in unix microseconds: as many varint bytes on the wire.
constexpr uint64_t kEpoch = 1764806400000000;

// Whether the digest `seq` of node `of` is lost on its way to `to` (deterministic in the seed).
bool Lost(uint64_t seed, int of, uint64_t seq, int to, double loss) {
  if (loss <= 0) return false;
  const uint64_t h = Mix64(seed ^ Mix64(static_cast<uint64_t>(of) * 1000003u + seq * 7919u +
                                        (static_cast<uint64_t>(to) << 40)));
  return UnitInterval(h) < loss;
}

}  // namespace

Cluster::Cluster(const SimSpec& spec, std::vector<Req>* requests, std::vector<SimOutcome>* outcomes,
                 SimStats* stats)
    : spec_(spec), requests_(requests), outcomes_(outcomes), stats_(stats) {
  for (size_t m = 0; m < spec.models.size(); ++m) model_index_[spec.models[m].name] = int(m);
  for (size_t n = 0; n < spec.nodes.size(); ++n) node_index_.emplace(spec.nodes[n].id, int(n));
  hosts_.resize(spec.models.size());
  loss_ = spec.options.digest_loss;
  if (spec.options.twin && spec.options.controller_period_s > 0)
    twin_ = std::make_unique<DigitalTwin>(spec);
}

double Cluster::NetworkMs(int from, int to) const {
  if (from == to) return 0;
  const auto& table = spec_.options.network;
  if (table.empty()) return spec_.options.network_ms;  // the common case: no per-pair lookups
  if (auto f = table.find(nodes_[from].spec.id); f != table.end())
    if (auto t = f->second.find(nodes_[to].spec.id); t != f->second.end()) return t->second;
  return spec_.options.network_ms;
}

double Cluster::TransferMs(int from, int to, double bytes) const {
  const double bw = spec_.options.bandwidth_mb_s;
  return NetworkMs(from, to) + (bw > 0 ? bytes / (bw * 1e3) : 0);
}

double Cluster::WorkMs(int image) const {
  const auto& w = spec_.options.request_work_ms;
  if (w.empty() || image <= 0) return 0;
  auto hi = w.lower_bound(image);
  if (hi != w.end() && hi->first == image) return hi->second;
  const auto by_pixels = [&](const std::pair<const int, double>& e) {
    return e.second * double(image) * image / (double(e.first) * e.first);
  };
  if (hi == w.begin()) return by_pixels(*hi);
  auto lo = std::prev(hi);
  if (hi == w.end()) return by_pixels(*lo);
  return lo->second + (hi->second - lo->second) * (image - lo->first) / (hi->first - lo->first);
}

Status Cluster::Start(double duration_s) {
  const SimOptions& o = spec_.options;
  end_ms_ = duration_s * 1e3 + std::max(60e3, 4 * o.request_timeout_s * 1e3);
  for (size_t i = 0; i < spec_.nodes.size(); ++i) {
    Node n;
    n.spec = spec_.nodes[i];
    n.index = static_cast<int>(i);
    if (node_index_.at(n.spec.id) != n.index)
      return InvalidArgument("node '" + n.spec.id + "' appears twice");
    if (n.spec.speed <= 0) return InvalidArgument("node '" + n.spec.id + "': speed must be > 0");
    n.busy_ms.assign(static_cast<size_t>(duration_s) + 2, 0);
    n.file_pipeline = n.spec.pipeline;
    nodes_.push_back(std::move(n));
  }
  listed_ = nodes_.size();
  for (const Node& n : nodes_) gflops_.push_back(n.spec.gflops);
  zone_size_ = o.zone_size > 0 ? static_cast<size_t>(o.zone_size) : 0;
  listed_in_zone_.assign(zone_size_ > 0 ? (nodes_.size() + zone_size_ - 1) / zone_size_ : 1, 0);
  for (const Node& n : nodes_) listed_in_zone_[ZoneOf(n.index)]++;
  for (Node& n : nodes_)
    for (const std::string& m : n.spec.serve) {
      auto it = model_index_.find(m);
      if (it == model_index_.end())
        return InvalidArgument("node '" + n.spec.id + "' serves '" + m + "', which has no model");
      LoadInstance(n.index, it->second, 0);  // warm before the run (the bench warms up too)
    }
  q_.RunUntil(0);
  // Digests: every node every Δ, nodes offset from each other (they start at different times).
  for (Node& n : nodes_) {
    const double offset = UnitInterval(Mix64(o.seed + n.index)) * o.sync_interval_ms;
    q_.At(offset, [this, i = n.index] { Tick(i, 0); });
  }
  if (o.controller_period_s > 0) {
    const double period = o.controller_period_s * 1e3;
    auto loop = std::make_shared<std::function<void()>>();
    *loop = [this, period, weak = std::weak_ptr<std::function<void()>>(loop)] {
      if (done()) return;
      ControllerPeriod();
      if (auto self = weak.lock()) q_.After(period, *self);
    };
    controller_loop_ = loop;
    q_.At(period, *loop);
  }
  for (const SimFault& f : o.faults) {
    int node = -1;
    if (f.kind == SimFault::Kind::kCrash || f.kind == SimFault::Kind::kRecover) {
      auto it = node_index_.find(f.node);
      if (it == node_index_.end())
        return InvalidArgument("fault names node '" + f.node + "', not in the cluster");
      node = it->second;
    }
    q_.At(f.at_s * 1e3, [this, f, node] {
      char line[160];
      std::snprintf(line, sizeof line, "%.1f s: fault %s %s", q_.now() / 1e3,
                    f.kind == SimFault::Kind::kCrash            ? "crash"
                    : f.kind == SimFault::Kind::kRecover        ? "recover"
                    : f.kind == SimFault::Kind::kDigestLoss     ? "digest-loss"
                    : f.kind == SimFault::Kind::kControllerDown ? "controller-down"
                                                                : "controller-up",
                    f.node.c_str());
      stats_->log.push_back(line);
      switch (f.kind) {
        case SimFault::Kind::kCrash:
          Crash(node);
          break;
        case SimFault::Kind::kRecover:
          Recover(node);
          break;
        case SimFault::Kind::kDigestLoss:
          loss_ = f.loss;
          break;
        case SimFault::Kind::kControllerDown:
          controller_up_ = false;
          break;
        case SimFault::Kind::kControllerUp:
          controller_up_ = true;
          break;
      }
    });
  }
  if (requests_->empty()) {
    arrivals_done_ = true;
  } else {
    q_.At((*requests_)[0].sent, [this] { Arrive(0); });
  }
  return Status::Ok();
}

void Cluster::Arrive(size_t k) {
  if (k + 1 < requests_->size()) {
    q_.At((*requests_)[k + 1].sent, [this, k] { Arrive(k + 1); });
  } else {
    arrivals_done_ = true;
  }
  Req* r = &(*requests_)[k];
  Node& in = nodes_[r->ingress];
  if (!in.up) {  // connection refused
    r->node = r->ingress;
    Respond(r, false, 0);
    return;
  }
  in.ingress[r->model]++;
  if (twin_) {
    std::vector<controller::RequestShape>& ring = shapes_[r->model];
    const controller::RequestShape shape{r->image, r->prompt, r->output};
    size_t& next = shape_next_[r->model];
    if (ring.size() < kShapesKept)
      ring.push_back(shape);
    else
      ring[next] = shape;
    next = (next + 1) % kShapesKept;
  }
  Route(r);
}

void Cluster::Candidates(int i, const Req& req, std::vector<router::RouteCandidate>* out,
                         std::vector<int>* target_out, double* prefill_out, double* decode_out,
                         size_t max_peers, uint64_t turn) {
  const Req* r = &req;
  const Node& in = nodes_[i];
  const SimModel& model = spec_.models[r->model];
  const double now = q_.now();
  std::vector<router::RouteCandidate>& candidates = *out;
  std::vector<int>& target = *target_out;
  double& own_prefill = *prefill_out;
  double& own_decode = *decode_out;
  candidates.clear();
  target.clear();
  own_prefill = 0;
  own_decode = 0;
  // Local: exact load.
  if (auto it = in.instances.find(r->model); it != in.instances.end()) {
    const Instance& inst = it->second;
    const bool ready = inst.ready && !inst.draining;
    if (inst.llm) {
      own_prefill = inst.step_cost.prefill_ms_per_token();
      own_decode = inst.step_cost.decode_step_ms();
      const router::LlmEngineLoad load{
          static_cast<int>(inst.seqs.size()), static_cast<int>(inst.waiting.size()),
          inst.waiting_tokens + inst.stepping_tokens, own_prefill, own_decode};
      router::RouteCandidate c = router::LocalLlmCandidate(
          in.spec.id, load, r->prompt, 0,
          router::UnmeasuredServiceMs(model.profile_solo_ms, model.profile_gflops, in.spec.gflops));
      c.ready = ready;
      candidates.push_back(c);
    } else {
      const engine::QueueLoad l = inst.cost.Load(
          static_cast<uint32_t>(inst.queue.size()), static_cast<uint32_t>(inst.running.size()),
          inst.batching.max_batch_size, 1, inst.RunningElapsedMs(q_.now()));
      candidates.push_back(router::LocalInstanceCandidate(
          in.spec.id, ready, l.expected_wait_ms, l.service_ms,
          static_cast<int>(l.queued + l.in_flight),
          router::UnmeasuredServiceMs(model.profile_solo_ms, model.profile_gflops,
                                      in.spec.gflops)));
    }
    target.push_back(i);
  }
  // The hosts a request may weigh (no digest from another zone: no candidate), then its sample.
  std::vector<int>& hosts = host_scratch_;
  std::vector<double>& speeds = speed_scratch_;
  hosts.clear();
  speeds.clear();
  for (int j : hosts_[r->model])
    if (j != i && ZoneOf(j) == ZoneOf(i)) hosts.push_back(j);
  if (max_peers > 0 && hosts.size() > max_peers)  // a sample is drawn: by speed
    for (int j : hosts) speeds.push_back(gflops_[static_cast<size_t>(j)]);
  static const std::vector<int> kNoMemory;
  auto memory = in.route_memory.find(r->model);
  router::PickPeers(hosts, speeds, memory == in.route_memory.end() ? kNoMemory : memory->second,
                    max_peers, turn, &picked_scratch_);
  for (size_t h : picked_scratch_) {
    const int j = hosts[h];
    const Node& peer = nodes_[j];
    static const PeerState kNone;
    auto known = in.peers.find(j);  // read only: most peers were never forwarded to
    const PeerState& ps = known == in.peers.end() ? kNone : known->second;
    const DigestRec* d = ViewOf(i, j);
    router::PeerView v;
    v.load = d ? d->Find(r->model) : nullptr;
    const double received = d ? d->sent + NetworkMs(j, i) : 0;
    v.fresh = d && now - received < spec_.options.down_after_ms;
    v.unreachable = ps.unreachable && (!d || d->digest.sequence <= ps.unreachable_seq);
    v.llm = model.llm;
    v.network_ms = NetworkMs(i, j);
    if (auto m = ps.mine.find(r->model); m != ps.mine.end()) v.mine = m->second;
    if (model.llm && d)
      if (auto f = ps.llm_forwards.find(r->model); f != ps.llm_forwards.end())
        for (const auto& [at, tokens] : f->second)
          if (at > received) v.recent_prompt_tokens += tokens;
    v.unmeasured_service_ms =
        router::UnmeasuredServiceMs(model.profile_solo_ms, model.profile_gflops, peer.spec.gflops);
    v.own_prefill_ms_per_token = own_prefill;
    v.own_decode_step_ms = own_decode;
    v.slower = in.spec.gflops / std::max(1e-9, peer.spec.gflops);
    if (d && v.load) {
      stats_->staleness_ms_sum += now - d->sent;
      ++stats_->staleness_samples;
    }
    candidates.push_back(router::PeerCandidate(peer.spec.id, v, r->prompt));
    target.push_back(j);
  }
}

void Cluster::Route(Req* r) {
  const int i = r->ingress;
  Node& in = nodes_[i];
  const SimModel& model = spec_.models[r->model];
  const uint64_t turn = in.turns[r->model]++;
  // A model this node splits and holds runs here (NodeAgent::SplitsHere): the tiles spread.
  if (!model.llm)
    if (auto sp = in.spec.split.find(model.name); sp != in.spec.split.end() && sp->second > 1)
      if (auto it = in.instances.find(r->model);
          it != in.instances.end() && it->second.ready && !it->second.draining) {
        r->node = i;
        RunCpu(WorkMs(r->image), [this, r, i, inc = in.incarnation](double) {
          if (nodes_[i].incarnation == inc) Deliver(r, i);
        });
        return;
      }
  std::vector<router::RouteCandidate> candidates;
  std::vector<int> target;
  double own_prefill = 0, own_decode = 0;
  const size_t max_peers = in.spec.routing == router::RouteMode::kSloAware
                               ? static_cast<size_t>(std::max(0, in.spec.route_peers))
                               : 0;
  Candidates(i, *r, &candidates, &target, &own_prefill, &own_decode, max_peers, turn);
  ++stats_->routes;
  stats_->route_candidates += candidates.size();
  if (candidates.empty()) {  // nobody hosts it: the local route answers 404
    r->node = i;
    Respond(r, false, 404);
    return;
  }
  router::AdmissionShareState* adaptive = AdaptiveAdmission(i, *r);
  const router::RoutePlan plan = router::PlanRouteWithMode(
      candidates, model.slo_ms, model.llm ? router::Admission::kBestEffort : in.spec.admission,
      in.spec.routing, turn, model.llm ? router::kLlmLocalSloShare : router::kLocalSloShare,
      adaptive ? adaptive->share : in.spec.admission_slo_share);
  if (plan.reject) {
    if (adaptive) adaptive->seen.refused++;
    r->node = i;
    Respond(r, false, 503);
    return;
  }
  for (size_t c : plan.order) {
    const int j = target[c];
    if (j == i) {
      r->node = i;
      RunCpu(model.llm ? 0 : WorkMs(r->image), [this, r, i, inc = in.incarnation](double) {
        if (nodes_[i].incarnation == inc) Deliver(r, i);
      });
      return;
    }
    PeerState& ps = in.peers[j];
    if (!nodes_[j].up) {  // refused: skip it until it sends a newer digest
      const DigestRec* d = ViewOf(i, j);
      ps.unreachable = true;
      ps.unreachable_seq = d ? d->digest.sequence : 0;
      continue;
    }
    ps.mine[r->model]++;
    if (in.spec.routing == router::RouteMode::kSloAware && in.spec.route_peers > 0)
      router::RememberPeer(&in.route_memory[r->model], j, static_cast<size_t>(in.spec.route_peers));
    if (model.llm) {
      auto& sent = ps.llm_forwards[r->model];
      while (!sent.empty() && q_.now() - sent.front().first > 5000) sent.pop_front();
      sent.emplace_back(q_.now(), r->prompt);
    }
    ++stats_->forwards;
    r->node = j;
    r->remote = true;
    const double work = model.llm ? 0 : WorkMs(r->image);
    q_.After(NetworkMs(i, j), [this, r, j, work, inc = nodes_[j].incarnation] {
      RunCpu(work, [this, r, j, inc](double) {
        if (r->ended) return;
        if (nodes_[j].incarnation != inc || !nodes_[j].up) {
          Respond(r, false, 503);  // it failed while running the request
          return;
        }
        Deliver(r, j);
      });
    });
    return;
  }
  r->node = i;
  Respond(r, false, 503);  // no node could take the request
}

router::AdmissionShareState* Cluster::AdaptiveAdmission(int i, const Req& r) {
  Node& in = nodes_[i];
  if (!in.spec.admission_adaptive || in.spec.admission != router::Admission::kRejectEarly ||
      spec_.models[r.model].llm)
    return nullptr;
  router::AdmissionShareOptions o;
  o.ceiling = in.spec.admission_slo_share;
  return &router::RollAdmissionShare(&in.admission[r.model], q_.now(), 1000.0, o);
}

void Cluster::Respond(Req* r, bool ok, int status) {
  if (r->ended) return;
  r->ended = true;
  if (r->parent) {  // a spatial tile: its request ends with its last tile
    TileEnded(r, ok && status == 200);
    return;
  }
  ++ended_;
  SimOutcome& o = (*outcomes_)[r->index];
  o.ok = ok;
  o.status = status;
  o.e2e_ms = q_.now() - r->sent;
  if (r->first_token >= 0) {
    o.ttft_ms = r->first_token - r->sent;
    if (r->generated > 1) o.tpot_ms = (q_.now() - r->first_token) / (r->generated - 1);
  }
  const double timeout_ms = spec_.options.request_timeout_s * 1e3;
  if (ok && timeout_ms > 0 && o.e2e_ms > timeout_ms) {
    o.ok = false;  // the client had given up (the bench cuts a whole stream too)
    o.status = 0;
  }
  o.node = r->node >= 0 ? nodes_[r->node].spec.id : nodes_[r->ingress].spec.id;
  if (ModelSloMet(spec_.models[r->model], o)) nodes_[r->ingress].ingress_met[r->model]++;
  if (o.ok) {
    if (router::AdmissionShareState* adaptive = AdaptiveAdmission(r->ingress, *r)) {
      adaptive->seen.answered++;
      if (o.e2e_ms <= spec_.models[r->model].slo_ms) adaptive->seen.met++;
    }
  }
  if (r->remote) {
    PeerState& ps = nodes_[r->ingress].peers[r->node];
    ps.mine[r->model]--;
  }
}

cluster::InstanceLoad Cluster::LoadOf(const Instance& inst) const {
  cluster::InstanceLoad l;
  l.model = spec_.models[inst.model].name;
  l.ready = inst.ready && !inst.draining;
  if (inst.llm) {
    l.queue_length = static_cast<uint32_t>(inst.waiting.size());
    l.in_flight = static_cast<uint32_t>(inst.seqs.size());
    l.queued_prompt_tokens = static_cast<uint64_t>(inst.waiting_tokens + inst.stepping_tokens);
    l.prefill_ms_per_token = inst.step_cost.prefill_ms_per_token();
    l.decode_step_ms = inst.step_cost.decode_step_ms();
    l.service_ms = 0;
  } else {
    // A digest is read at an unknown later moment: the running batch's mean residual.
    const engine::QueueLoad q =
        inst.cost.Load(static_cast<uint32_t>(inst.queue.size()),
                       static_cast<uint32_t>(inst.running.size()), inst.batching.max_batch_size, 1);
    l.queue_length = q.queued;
    l.in_flight = q.in_flight;
    l.expected_wait_ms = q.expected_wait_ms;
    l.service_ms = q.service_ms;
    l.batch_occupancy = q.batch_occupancy;
    l.max_batch = static_cast<uint32_t>(std::max(1, inst.batching.max_batch_size));
  }
  return l;
}

void Cluster::Tick(int i, uint64_t incarnation) {
  Node& n = nodes_[i];
  if (!n.up || n.incarnation != incarnation || done()) return;
  DigestRec& rec = n.history[n.next];
  n.next = (n.next + 1) % kHistory;
  n.kept = std::min(kHistory, n.kept + 1);
  rec.sent = q_.now();
  rec.loss = loss_;
  rec.digest.node_id = n.spec.id;
  rec.digest.epoch = kEpoch;
  rec.digest.sequence = ++n.sequence;
  rec.digest.instances.resize(n.instances.size());
  rec.models.resize(n.instances.size());
  size_t k = 0;
  for (const auto& [m, inst] : n.instances) {
    rec.digest.instances[k] = LoadOf(inst);
    rec.models[k++] = m;
  }
  // One message to every listed peer (of its zone, with zones).
  const size_t receivers =
      (zone_size_ > 0 ? listed_in_zone_[ZoneOf(i)] : listed_) - (n.listed ? 1 : 0);
  stats_->digests_sent += receivers;
  stats_->digest_bytes += receivers * DigestWireBytes(rec.digest);
  q_.After(spec_.options.sync_interval_ms, [this, i, incarnation] { Tick(i, incarnation); });
}

const DigestRec* Cluster::ViewOf(int from, int of) const {
  if (ZoneOf(from) != ZoneOf(of)) return nullptr;  // digests stay in their zone
  const Node& n = nodes_[of];
  const double now = q_.now();
  const double net = NetworkMs(of, from);
  for (size_t k = 0; k < n.kept; ++k) {
    const DigestRec& d = n.history[(n.next + kHistory - 1 - k) % kHistory];
    if (d.sent + net <= now && !Lost(spec_.options.seed, of, d.digest.sequence, from, d.loss))
      return &d;
  }
  return nullptr;
}

void Cluster::Advertise(int node, int model, bool on) {
  std::vector<int>& h = hosts_[model];
  auto it = std::lower_bound(h.begin(), h.end(), node);
  if (on && (it == h.end() || *it != node)) h.insert(it, node);
  if (!on && it != h.end() && *it == node) h.erase(it);
}

void Cluster::ControllerPeriod() {
  if (!controller_up_) return;
  const auto wall0 = std::chrono::steady_clock::now();
  struct Timer {  // the period's host time, for the controller's budget (never a decision input)
    std::chrono::steady_clock::time_point t0;
    SimStats* stats;
    ~Timer() {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      stats->controller_wall_s += s;
      stats->controller_max_wall_s = std::max(stats->controller_max_wall_s, s);
    }
  } timer{wall0, stats_};
  const double now = q_.now();
  controller::PeriodInput in;
  double max_gflops = 0;
  for (const Node& n : nodes_)
    if (n.up) max_gflops = std::max(max_gflops, n.spec.gflops);
  if (max_gflops <= 0) max_gflops = 1;
  for (const Node& n : nodes_) {
    if (!n.listed) continue;
    in.nodes.push_back({n.spec.id, n.spec.gflops, n.spec.memory_bytes});
    for (const auto& [m, inst] : n.instances) {
      const std::string& name = spec_.models[m].name;
      if (inst.llm) {
        in.llms.insert(name);
        continue;
      }
      if (auto sp = n.spec.split.find(name); sp != n.spec.split.end() && sp->second > 1)
        in.split.insert(name);
      if (inst.draining) continue;
      in.current[name].insert(n.spec.id);
      const double ms = inst.cost.batch_ms();
      if (ms > 0) {
        const double at_reference = ms * n.spec.gflops / max_gflops;
        double& best = in.observed_ms[name];
        best = best > 0 ? std::min(best, at_reference) : at_reference;
      }
    }
    if (!n.up) continue;  // its counters cannot be read
    std::map<std::string, uint64_t> counts;
    for (const auto& [m, c] : n.ingress) counts[spec_.models[m].name] = c;
    auto last = last_read_.find(n.index);
    const double dt = last == last_read_.end() ? 0 : (now - last->second) / 1e3;
    controller::ObserveIngress(n.spec.id, counts, dt, 0.5, &last_counts_[n.index], &demand_);
    last_read_[n.index] = now;
  }
  in.profiles = &spec_.profiles;
  in.demand = &demand_;
  in.burst_headroom = spec_.options.burst_headroom;
  in.placement = spec_.options.placement;
  controller::PeriodPlan plan;
  ++stats_->controller_periods;
  if (Status s = controller::PlanPeriod(in, &plan); !s.ok()) {
    stats_->log.push_back("controller: " + s.ToString());
    return;
  }
  if (twin_ && !TwinApproves(in, plan)) {
    if (spec_.options.llm_modes) LlmModesPeriod();  // the twin weighs placements, not LLM modes
    return;
  }
  stats_->deploy_steps += plan.steps.size();
  for (const scheduler::DeployStep& step : plan.steps) {
    const int node = node_index_.at(step.node);
    const int model = model_index_.at(step.service);
    char line[200];
    std::snprintf(line, sizeof line, "%.1f s: controller %s %s on %s", now / 1e3,
                  step.kind == scheduler::DeployStep::Kind::kLoad ? "loads" : "unloads",
                  step.service.c_str(), step.node.c_str());
    stats_->log.push_back(line);
    if (!nodes_[node].up) {  // down, its record not expired yet: the step fails there
      stats_->log.back() += " (failed: the node is down)";
      continue;
    }
    if (step.kind == scheduler::DeployStep::Kind::kLoad) {
      LoadInstance(node, model, spec_.options.load_ms);
    } else {
      // Unloads follow the loads they wait for (scheduler/deployment.h): after a load time.
      q_.After(spec_.options.load_ms, [this, node, model, inc = nodes_[node].incarnation] {
        Node& n = nodes_[node];
        if (n.incarnation != inc) return;
        auto it = n.instances.find(model);
        if (it == n.instances.end()) return;
        Advertise(node, model, false);
        it->second.draining = true;
        FinishDrain(n, model);
      });
    }
  }
  if (spec_.options.llm_modes) LlmModesPeriod();
}

bool Cluster::TwinApproves(const controller::PeriodInput& in, const controller::PeriodPlan& plan) {
  const auto wall0 = std::chrono::steady_clock::now();
  controller::TwinQuery q;
  for (const Node& n : nodes_) {
    if (!n.listed) continue;
    q.live.push_back(n.spec.id);
    for (const auto& [m, inst] : n.instances) {
      if (!inst.draining) q.current[spec_.models[m].name].insert(n.spec.id);
      // What the node holds now, as its digest shows it to the real controller.
      const int queued = static_cast<int>(inst.queue.size() + inst.waiting.size());
      const int running = static_cast<int>(inst.running.size() + inst.seqs.size());
      if (n.up && (queued > 0 || running > 0))
        q.backlog.push_back({n.spec.id, spec_.models[m].name, queued, running});
    }
  }
  q.backlog_known = true;
  q.candidate = controller::CandidatePlacement(q.current, plan);
  q.demand = in.demand;
  for (const auto& [m, ring] : shapes_) q.shapes[spec_.models[m].name] = ring;
  q.horizon_s = spec_.options.controller_period_s;
  q.seed = Mix64(spec_.options.seed + stats_->controller_periods);
  controller::TwinVerdict v;
  TwinPeriod record;
  record.at_s = q_.now() / 1e3;
  record.horizon_s = q.horizon_s;
  record.changed = !plan.steps.empty();
  if (Status s = twin_->Forecast(q, &v); !s.ok()) {
    stats_->log.push_back("controller: twin failed, plan applied: " + s.ToString());
    v.apply = true;
  }
  record.offered_rps = v.offered_rps;
  record.current_rps = v.current_rps;
  record.candidate_rps = v.candidate_rps;
  record.noise_rps = v.noise_rps;
  record.applied = record.changed && v.apply;
  record.predicted_rps = record.applied ? v.candidate_rps : v.current_rps;
  stats_->twin.push_back(record);
  q.demand = nullptr;
  scheduler::Instances in_force = record.applied ? q.candidate : q.current;
  q.current.clear();
  q.candidate.clear();
  twin_queries_.emplace_back(std::move(q), std::move(in_force));
  stats_->twin_wall_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (record.changed && !record.applied) {
    ++stats_->twin_rejected;
    char line[200];
    std::snprintf(line, sizeof line,
                  "%.1f s: controller keeps its placement: twin predicts %.2f -> %.2f req/s "
                  "(noise %.2f)",
                  record.at_s, v.current_rps, v.candidate_rps, v.noise_rps);
    stats_->log.push_back(line);
  }
  return record.applied;
}

void Cluster::JudgeTwinPeriods() {
  for (size_t k = 0; k < stats_->twin.size(); ++k) {
    TwinPeriod& p = stats_->twin[k];
    const double from = p.at_s * 1e3, to = (p.at_s + p.horizon_s) * 1e3;
    uint64_t sent = 0, met = 0;
    const auto by_sent = [](const Req& r, double t) { return r.sent < t; };
    auto it = std::lower_bound(requests_->begin(), requests_->end(), from, by_sent);
    for (; it != requests_->end() && it->sent < to; ++it) {
      ++sent;
      met += ModelSloMet(spec_.models[it->model], (*outcomes_)[it->index]);
    }
    p.observed_rps = met / std::max(1e-9, p.horizon_s);
    p.observed_offered_rps = sent / std::max(1e-9, p.horizon_s);
    // Hindsight: the window's own arrivals, from the twin's warm-up before it.
    auto& [q, placement] = twin_queries_[k];
    const double start = from - twin_->warmup_s() * 1e3;
    for (it = std::lower_bound(requests_->begin(), requests_->end(), start, by_sent);
         it != requests_->end() && it->sent < to; ++it)
      q.replay.push_back({(it->sent - start) / 1e3,
                          spec_.models[it->model].name,
                          nodes_[it->ingress].spec.id,
                          {it->image, it->prompt, it->output}});
    std::vector<double> per_batch;
    if (!q.replay.empty() && twin_->Run(q, placement, &per_batch, nullptr).ok()) {
      double sum = 0;
      for (double b : per_batch) sum += b;
      p.hindsight_rps = sum / per_batch.size();
    }
    q.replay.clear();
    q.replay.shrink_to_fit();
  }
}

void Cluster::Crash(int i) {
  Node& n = nodes_[i];
  if (!n.up) return;
  n.up = false;
  const uint64_t inc = ++n.incarnation;
  FailPipelinesThrough(i);  // heads elsewhere whose steps were here
  for (Req& r : *requests_) {
    if (r.ended || r.sent > q_.now()) continue;
    if (r.ingress == i) {
      Respond(&r, false, 0);  // the client's connection dropped
    } else if (r.node == i) {
      Respond(&r, false, 503);  // the ingress node's forward failed while running
    }
  }
  for (Req& t : tiles_)  // a tile running here fails its request (RunSplit's forward failed)
    if (!t.ended && t.node == i) Respond(&t, false, 503);
  n.instances.clear();
  n.stages.clear();
  n.kept = 0;
  // Its record expires after the lease TTL: peers and the controller forget it then, and the
  // controller re-plans at once.
  q_.After(spec_.options.down_after_ms, [this, i, inc] {
    Node& n = nodes_[i];
    if (n.up || n.incarnation != inc) return;
    n.listed = false;
    --listed_;
    --listed_in_zone_[ZoneOf(i)];
    for (size_t m = 0; m < hosts_.size(); ++m) Advertise(i, static_cast<int>(m), false);
    if (spec_.options.controller_period_s > 0) ControllerPeriod();
  });
}

void Cluster::Recover(int i) {
  Node& n = nodes_[i];
  if (n.up) return;
  n.up = true;
  if (!n.listed) {
    ++listed_;
    ++listed_in_zone_[ZoneOf(i)];
  }
  n.listed = true;
  const uint64_t inc = ++n.incarnation;
  n.instances.clear();  // a restarted node loads what its config says
  n.spec.pipeline = n.file_pipeline;
  for (size_t m = 0; m < hosts_.size(); ++m) Advertise(i, static_cast<int>(m), false);
  for (const std::string& m : n.spec.serve)
    LoadInstance(i, model_index_.at(m), spec_.options.load_ms);
  q_.After(0, [this, i, inc] { Tick(i, inc); });
}

}  // namespace internal

Status Simulate(const SimSpec& spec, const std::vector<std::string>& workload_models,
                const std::vector<loadgen::ScheduledRequest>& schedule, double duration_s,
                std::vector<SimOutcome>* outcomes, SimStats* stats) {
  *stats = SimStats{};
  std::vector<internal::Req> requests(schedule.size());
  outcomes->assign(schedule.size(), SimOutcome{});
  internal::Cluster cluster(spec, &requests, outcomes, stats);

  for (size_t k = 0; k < schedule.size(); ++k) {
    const loadgen::ScheduledRequest& s = schedule[k];
    if (s.service < 0 || size_t(s.service) >= workload_models.size())
      return InvalidArgument("request " + std::to_string(k) + " names no workload service");
    auto m = cluster.model_index_.find(workload_models[s.service]);
    if (m == cluster.model_index_.end())
      return InvalidArgument("workload model '" + workload_models[s.service] +
                             "' is not in the simulated cluster");
    auto n = cluster.node_index_.find(s.ingress);
    if (n == cluster.node_index_.end())
      return InvalidArgument("workload ingress node '" + s.ingress + "' is not in the cluster");
    internal::Req& r = requests[k];
    r.index = k;
    r.model = m->second;
    r.ingress = n->second;
    r.sent = s.at_s * 1e3;
    r.image = s.image_size;
    r.prompt = s.prompt_tokens;
    r.output = std::max(1, s.output_tokens);
    if (k > 0 && r.sent < requests[k - 1].sent)
      return InvalidArgument("the schedule is not sorted by time");
  }
  EPARA_RETURN_IF_ERROR(cluster.Start(duration_s));
  cluster.Run();
  for (internal::Req& r : requests)
    if (!r.ended) cluster.Respond(&r, false, 0);  // still open at the run's limit
  cluster.JudgeTwinPeriods();
  stats->events = cluster.q_.processed();
  stats->end_s = cluster.q_.now() / 1e3;
  for (const internal::Node& n : cluster.nodes_) {
    std::vector<double>& busy = stats->node_busy[n.spec.id];
    for (double ms : n.busy_ms) busy.push_back(std::min(1.0, ms / 1e3));
  }
  return Status::Ok();
}

}  // namespace epara::sim
