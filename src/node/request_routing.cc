// NodeAgent's distributed request handler: candidates, the routing decision, forwarding with
// retry, and spatial splits (declared in node/node_agent.h).
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "node/node_agent.h"
#include "node/node_agent_internal.h"
#include "router/peer_sample.h"
#include "router/route_candidates.h"
#include "router/route_policy.h"
#include "router/split_plan.h"
#include "vision/spatial_split.h"

namespace epara::node {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

bool NodeAgent::SplitsHere(const std::string& model, const api::HttpRequest& req) const {
  if (!server_->models().FindServing(model)) return false;
  const std::string asked = req.Query("split", "");
  if (!asked.empty()) return std::atoi(asked.c_str()) > 1;
  return SplitOf(model) > 1;
}

int NodeAgent::SplitOf(const std::string& model) const {
  std::lock_guard<std::mutex> lock(split_mu_);
  auto it = split_.find(model);
  return it == split_.end() ? 0 : it->second;
}

bool NodeAgent::HasProfile(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  return profiles_.count(model) > 0;
}

double NodeAgent::UnmeasuredServiceMs(const std::string& model, double gflops) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = profiles_.find(model);
  if (it == profiles_.end()) return router::UnmeasuredServiceMs(0, 0, gflops);
  return router::UnmeasuredServiceMs(it->second.ForCategorizer().solo_ms, it->second.speed_gflops,
                                     gflops);
}

int64_t NodeAgent::EstimatePromptTokens(const std::string& model, const std::string& body) const {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;  // the serving node answers the parse error
  std::string text;
  if (auto p = j.find("prompt"); p != j.end()) {
    if (p->is_string()) text = p->get<std::string>();
    if (p->is_array())
      for (const auto& e : *p)
        if (e.is_string()) text += e.get<std::string>();
  }
  if (auto m = j.find("messages"); m != j.end() && m->is_array())
    for (const auto& msg : *m)
      if (msg.is_object())
        if (auto c = msg.find("content"); c != msg.end() && c->is_string())
          text += c->get<std::string>();
  if (auto llm = server_->llms().Get(model))
    return static_cast<int64_t>(llm->engine->tokenizer().Encode(text).size());
  return static_cast<int64_t>(text.size() + 3) / 4;
}

double NodeAgent::MeanTtftMs(const std::string& model) const {
  const metrics::LlmMetrics* m = server_->llms().Metrics(model);
  if (!m || m->ttft->count() == 0) return 0;
  return m->ttft->sum() / m->ttft->count() * 1e3;
}

void NodeAgent::Candidates(const std::string& model,
                           std::vector<router::RouteCandidate>* candidates,
                           std::vector<std::shared_ptr<Peer>>* remote, double* slo_ms, bool* is_llm,
                           int64_t prompt_tokens, size_t max_peers, uint64_t turn) {
  // Local: exact load, no staleness.
  llm::EngineStats local_llm_cost;  // a local LLM's (its step costs are the peers' prior)
  if (const engine::ServedModel* m = server_->models().FindServing(model)) {
    const bool ready = m->state.load() == engine::ModelState::kReady && m->scheduler;
    engine::QueueLoad l;
    if (ready) l = m->scheduler->CurrentLoad();
    *slo_ms = m->descriptor.slo.latency_ms;
    candidates->push_back(router::LocalInstanceCandidate(
        config_.id, ready, l.expected_wait_ms, l.service_ms,
        static_cast<int>(l.queued + l.in_flight),
        ready && l.service_ms <= 0 ? UnmeasuredServiceMs(model, local_gflops_) : 0));
    remote->push_back(nullptr);
  } else if (auto llm = server_->llms().Get(model);
             llm && llm->state == api::LlmRegistry::State::kReady) {
    // (A draining LLM is no candidate: its requests go to the new host, or run here when no
    // other node has it.)
    local_llm_cost = llm->engine->stats();
    const llm::EngineStats& st = local_llm_cost;
    const router::LlmEngineLoad load{st.running, st.waiting, st.waiting_prompt_tokens,
                                     st.prefill_ms_per_token, st.decode_step_ms};
    const double mean_ttft = st.prefill_ms_per_token > 0 ? 0 : MeanTtftMs(model);
    candidates->push_back(router::LocalLlmCandidate(
        config_.id, load, prompt_tokens, mean_ttft,
        st.prefill_ms_per_token > 0 || mean_ttft > 0 ? 0
                                                     : UnmeasuredServiceMs(model, local_gflops_)));
    *slo_ms = llm->ttft_slo_ms;  // routing predicts the first token
    if (is_llm) *is_llm = true;
    remote->push_back(nullptr);
  }
  const auto now = Clock::now();
  const auto digests = peer_table_.Snapshot();
  std::vector<std::shared_ptr<Peer>> peers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, p] : peers_) peers.push_back(p);
  }
  // The peers hosting the model, what this node knows of each (under its lock: its registration,
  // which UpsertPeer may replace, and our view of it); then the sample a request weighs.
  struct Host {
    std::shared_ptr<Peer> peer;
    cluster::NodeRecord record;
    double network_ms = 0;
    int mine = 0;
    bool unreachable = false;
    cluster::LoadDigest unreachable_at;
    const cluster::PeerTable::Entry* digest = nullptr;  // null: none received
    int64_t recent_prompt_tokens = 0;                   // LLM prompts sent there since its digest
  };
  std::vector<Host> hosts;
  for (const auto& p : peers) {
    Host h;
    {
      std::lock_guard<std::mutex> lock(p->mu);
      if (!p->record.FindInstance(model)) continue;
      h.record = p->record;
      auto d = digests.find(h.record.id);
      if (d != digests.end()) h.digest = &d->second;
      h.network_ms = p->network_ms;
      h.mine = p->outstanding[model];
      h.unreachable = p->unreachable;
      h.unreachable_at = p->unreachable_at;
      if (auto f = p->llm_forwards.find(model); f != p->llm_forwards.end() && h.digest)
        for (const auto& [at, tokens] : f->second)
          if (at > h.digest->received) h.recent_prompt_tokens += tokens;
    }
    h.peer = p;
    hosts.push_back(std::move(h));
  }
  std::vector<size_t> picked;
  if (max_peers == 0 || hosts.size() <= max_peers) {  // every host: nothing to sample
    for (size_t k = 0; k < hosts.size(); ++k) picked.push_back(k);
  } else {
    std::vector<std::string> ids;
    std::vector<double> speeds;
    for (const Host& h : hosts) {
      ids.push_back(h.record.id);
      speeds.push_back(h.record.FastestGflops());
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto memory = route_memory_.find(model);
    router::PickPeers(ids, speeds,
                      memory == route_memory_.end() ? std::vector<std::string>() : memory->second,
                      max_peers, turn, &picked);
  }
  for (size_t k : picked) {
    const Host& h = hosts[k];
    const cluster::InstanceRecord* inst = h.record.FindInstance(model);
    if (*slo_ms <= 0) *slo_ms = inst->slo_ms;
    if (is_llm && inst->task == "llm") *is_llm = true;
    // (The instance may be a variant of the service the request names: its load is its own.)
    router::PeerView view;
    view.load = h.digest ? h.digest->digest.Find(inst->model) : nullptr;
    // No digest yet, one older than the down timeout, or unreachable since: not a candidate.
    view.fresh = h.digest && now - h.digest->received < config_.down_after;
    view.unreachable = h.unreachable && h.digest && !h.digest->digest.NewerThan(h.unreachable_at);
    view.llm = inst->task == "llm";
    view.network_ms = h.network_ms;
    view.mine = h.mine;
    view.recent_prompt_tokens = h.recent_prompt_tokens;
    const double gflops = h.record.FastestGflops();
    if (view.load && view.load->service_ms <= 0 && view.load->prefill_ms_per_token <= 0)
      view.unmeasured_service_ms = UnmeasuredServiceMs(model, gflops);
    if (gflops > 0) {
      view.own_prefill_ms_per_token = local_llm_cost.prefill_ms_per_token;
      view.own_decode_step_ms = local_llm_cost.decode_step_ms;
      view.slower = local_gflops_ / gflops;
    }
    candidates->push_back(router::PeerCandidate(h.record.id, view, prompt_tokens));
    remote->push_back(h.peer);
  }
}

bool NodeAgent::Route(const std::string& model, const api::HttpRequest& req, api::HttpResponse* res,
                      Status* error) {
  uint64_t turn = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ingress_[model]++;  // demand entering here (the controller's per-ingress rates)
    turn = route_turns_[model]++;
  }
  const bool local_llm = !server_->models().FindServing(model) && server_->llms().Has(model);
  // A model this node splits (its plan's split or ?split=N) and holds runs here: its tiles spread
  // over the cluster by themselves (RunSplit), and one instance's whole-image time is not what
  // the request will take, so neither forwarding nor admission on it would be right.
  if (SplitsHere(model, req)) return false;
  // Local-only: LLM streams hosted here stay here (the fast path).
  if (local_llm && config_.routing == router::RouteMode::kLocalOnly) return false;
  std::vector<router::RouteCandidate> candidates;
  std::vector<std::shared_ptr<Peer>> remote;  // parallel to candidates; null for local
  double slo_ms = 0;
  bool llm = false;
  const bool maybe_llm =
      req.path.rfind("/v1/completions", 0) == 0 || req.path.rfind("/v1/chat/completions", 0) == 0;
  const int64_t prompt_tokens = maybe_llm ? EstimatePromptTokens(model, req.body) : 0;
  const size_t max_peers = config_.routing == router::RouteMode::kSloAware
                               ? static_cast<size_t>(std::max(0, config_.route_peers))
                               : 0;
  Candidates(model, &candidates, &remote, &slo_ms, &llm, prompt_tokens, max_peers, turn);
  if (candidates.empty()) {
    // Held only by nodes that left (down, or cut off): a service of this cluster that has no live
    // instance now, 503 with Retry-After (clients retry; the controller may bring it back), not the
    // local route's 404 for a model nobody has.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, d] : departed_)
      if (d.models.count(model)) {
        const double ago = std::chrono::duration<double>(Clock::now() - d.at).count();
        *error = Unavailable("model '" + model + "': no live node holds it (node " + id +
                             ", which held it, left " + std::to_string(static_cast<int>(ago)) +
                             " s ago)");
        return true;
      }
    return false;  // nobody hosts it: the local route answers 404
  }
  // The request may carry its own SLO (as for SLO-aware batching).
  if (const double own = std::atof(req.Header("X-Epara-SLO-Ms").c_str()); own > 0) slo_ms = own;
  // LLMs: the TTFT prediction orders the candidates; streams are never rejected on it (it does not
  // see the prompts that arrive later, and continuous batching often does better than predicted).
  const auto routed_at = Clock::now();
  const bool tuned = admission_tuner_ && !llm && config_.observe;  // observe: it sees the answers
  const double admission_share =
      tuned ? admission_tuner_->Share(model, routed_at) : config_.admission_slo_share;
  const router::RoutePlan plan = router::PlanRouteWithMode(
      candidates, slo_ms, llm ? router::Admission::kBestEffort : config_.admission, config_.routing,
      turn, llm ? router::kLlmLocalSloShare : router::kLocalSloShare, admission_share);
  if (plan.reject && tuned) admission_tuner_->Refused(model, routed_at);
  // X-Epara-Explain: 1 (or ?explain=1): the decision's record, compact, on the answer; the same
  // record goes to the ring of recent decisions (issue 26).
  const bool asked = req.Header("X-Epara-Explain") == "1" || req.Query("explain") == "1";
  std::string explain;
  if (asked || config_.observe) {
    router::RouteDecision decision =
        router::ExplainRoute(model, candidates, plan, config_.routing, slo_ms, llm,
                             std::chrono::duration<double, std::milli>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
    if (asked) explain = ExplainHeader(decision);
    if (config_.observe) decisions_.Push(std::move(decision));
  }
  if (!explain.empty()) res->headers.emplace_back("X-Epara-Explain", explain);
  if (plan.reject) {
    *error = Unavailable("model '" + model + "': " + plan.reason);
    return true;
  }
  std::string failures;
  for (size_t i : plan.order) {
    if (!remote[i]) return false;  // run here
    Peer& p = *remote[i];
    if (max_peers > 0) {  // weighed first next time (router/peer_sample.h)
      std::lock_guard<std::mutex> lock(mu_);
      router::RememberPeer(&route_memory_[model], candidates[i].node_id, max_peers);
    }
    {
      std::lock_guard<std::mutex> lock(p.mu);
      p.outstanding[model]++;
      if (llm) {
        auto& sent = p.llm_forwards[model];
        const auto now = Clock::now();
        while (!sent.empty() && now - sent.front().first > std::chrono::seconds(5))
          sent.pop_front();
        sent.emplace_back(now, prompt_tokens);
      }
    }
    bool started = false;
    const auto t0 = Clock::now();
    api::HttpResponse forwarded;
    Status s = p.client->Forward(req, &forwarded, &started, kForwardTimeout);
    const double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    {
      std::lock_guard<std::mutex> lock(p.mu);
      p.outstanding[model]--;
      if (s.ok()) {
        for (const auto& [k, v] : forwarded.headers)
          if (k == kExecHeader) {
            const double overhead = std::max(0.0, total_ms - std::atof(v.c_str()));
            p.network_ms += 0.2 * (overhead - p.network_ms);
          }
      }
    }
    if (s.ok()) {
      std::erase_if(forwarded.headers, [](const auto& h) { return h.first == kExecHeader; });
      forwarded.headers.emplace_back("X-Epara-Node", candidates[i].node_id);
      if (!explain.empty()) forwarded.headers.emplace_back("X-Epara-Explain", explain);
      *res = std::move(forwarded);
      return true;
    }
    if (!started) {
      // Refused or unreachable: skip it until it sends a newer digest.
      const auto digests = peer_table_.Snapshot();
      auto d = digests.find(candidates[i].node_id);
      std::lock_guard<std::mutex> lock(p.mu);
      p.unreachable = true;
      if (d != digests.end()) p.unreachable_at = d->second.digest;
    }
    if (started) {
      *error = Unavailable("model '" + model + "': node " + candidates[i].node_id +
                           " failed while running the request: " + s.message());
      return true;
    }
    failures += (failures.empty() ? "" : "; ") + s.message();
  }
  *error = Unavailable("model '" + model + "': no node could take the request (" + failures + ")");
  return true;
}

Status NodeAgent::RunSplit(const std::string& model, const Tensor& input, int tiles, bool planned,
                           double elapsed_ms, Tensor* logits) {
  const auto& shape = input.shape();
  if (shape.size() != 4 || shape[0] != 1)
    return InvalidArgument("a split input must be [1, C, H, W]");
  const int height = static_cast<int>(shape[2]), width = static_cast<int>(shape[3]);
  std::vector<router::RouteCandidate> candidates;
  std::vector<std::shared_ptr<Peer>> remote;
  double slo_ms = 0;
  Candidates(model, &candidates, &remote, &slo_ms);
  // Tiles sized by each instance's predicted speed (router/split_plan.h).
  router::SplitPlan split;
  const double budget_ms =
      planned && config_.split_fit && slo_ms > 0 ? std::max(1e-3, slo_ms - 2 * elapsed_ms) : 0;
  if (Status s =
          router::PlanSplit(candidates, width, height, tiles, HasProfile(model), &split, budget_ms);
      !s.ok())
    return s.code() == StatusCode::kUnavailable
               ? Unavailable("model '" + model + "': " + s.message())
               : s;
  const std::vector<vision::Tile>& plan = split.tiles;
  std::vector<Tensor> outputs(plan.size());
  std::vector<Status> statuses(plan.size());
  std::vector<std::thread> threads;
  auto run_tile = [&](size_t i) {
    const size_t c = split.on[i];
    if (!remote[c]) {  // here: straight to the local scheduler, no serialization
      engine::ServedModel* m = server_->models().FindServing(model);
      Tensor crop = vision::CropImage(input, plan[i].input);
      if (m->descriptor.batching.max_batch_size == 0)
        if (Status s = crop.Reshape({3, plan[i].input.h, plan[i].input.w}, &crop); !s.ok()) {
          statuses[i] = s;
          return;
        }
      engine::InferenceResult r;
      engine::RequestPriority solo;
      solo.solo = true;
      solo.work_share = double(plan[i].input.w) * plan[i].input.h / (double(width) * height);
      statuses[i] = engine::InferSync(*m, {crop}, /*rows=*/1, &r, solo);
      if (!statuses[i].ok()) return;
      const auto& s = r.outputs[0].shape();
      if (s.size() == 3) {
        statuses[i] = r.outputs[0].Reshape({1, s[0], s[1], s[2]}, &outputs[i]);
      } else {
        outputs[i] = r.outputs[0];
      }
      return;
    }
    api::HttpRequest req;
    req.method = "POST";
    req.path = "/v1/internal/tile/" + model;
    const Tensor crop = vision::CropImage(input, plan[i].input);
    req.body.assign(reinterpret_cast<const char*>(crop.raw()), crop.byte_size());
    req.headers.emplace("X-Epara-Shape", "1,3," + std::to_string(plan[i].input.h) + "," +
                                             std::to_string(plan[i].input.w));
    req.headers.emplace(api::kForwardedHeader, config_.id);
    api::HttpResponse res;
    bool started = false;
    statuses[i] = remote[c]->client->Forward(req, &res, &started, kForwardTimeout);
    if (!statuses[i].ok()) return;
    if (res.status != 200) {
      statuses[i] = Unavailable("tile " + std::to_string(i) + " on node " + candidates[c].node_id +
                                " failed: " + res.body);
      return;
    }
    const int64_t k =
        static_cast<int64_t>(res.body.size()) / (int64_t{plan[i].input.h} * plan[i].input.w * 4);
    Tensor out = Tensor::Uninitialized(DataType::kFp32, {1, k, plan[i].input.h, plan[i].input.w});
    if (k <= 0 || static_cast<size_t>(out.byte_size()) != res.body.size()) {
      statuses[i] = Internal("tile " + std::to_string(i) + ": logits of the wrong size");
      return;
    }
    std::memcpy(out.raw(), res.body.data(), res.body.size());
    outputs[i] = std::move(out);
  };
  for (size_t i = 1; i < plan.size(); ++i) threads.emplace_back(run_tile, i);
  run_tile(0);
  for (auto& t : threads) t.join();
  for (const Status& s : statuses) EPARA_RETURN_IF_ERROR(s);
  return vision::StitchTiles(plan, outputs, width, height, logits);
}

}  // namespace epara::node
