// NodeAgent's live SLO window and the controller's plan records (issue 26); see node_agent.h.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/server_context.h"
#include "node/node_agent.h"
#include "node/node_agent_internal.h"

namespace epara::node {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}
double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

bool NodeAgent::SloOf(const std::string& model, ServiceSlo* out) const {
  if (const engine::ServedModel* m = server_->models().FindServing(model)) {
    *out = {false, m->descriptor.slo.latency_ms, 0};
    return true;
  }
  if (auto llm = server_->llms().Get(model)) {
    *out = {true, llm->ttft_slo_ms, llm->tpot_slo_ms};
    return true;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, p] : peers_) {
    std::lock_guard<std::mutex> peer_lock(p->mu);
    if (const cluster::InstanceRecord* i = p->record.FindInstance(model)) {
      *out = {i->task == "llm", i->slo_ms, i->tpot_ms};
      return true;
    }
  }
  return false;
}

void NodeAgent::ObserveRequest(const api::HttpRequest& req, api::HttpResponse* res,
                               Clock::time_point started) {
  if (!config_.observe) return;
  // Refused by the guard (not accepted), or run here for a peer (recorded at its ingress).
  if (res->status == 401 || res->status == 403) return;
  if (!req.Header(api::kForwardedHeader).empty()) return;
  const std::string model = InferenceModelOf(req.method, req.path, req.body);
  if (model.empty()) return;
  ServiceSlo slo;
  if (!SloOf(model, &slo)) return;  // no such service: nothing to attain (and no unbounded keys)
  if (!res->stream) {
    ResponseTiming t;
    t.status = res->status;
    const auto now = Clock::now();
    t.e2e_ms = MsBetween(started, now);
    if (slo.llm && t.status == 200) {
      const json body = json::parse(res->body, nullptr, false);
      if (body.is_object() && body.contains("usage") && body["usage"].is_object())
        t.completion_tokens = body["usage"].value("completion_tokens", int64_t{0});
    }
    const Verdict v = JudgeOutcome(slo, t);
    slo_window_.Record(model, Seconds(now), v.latency_ms, v.ok, v.met);
    if (admission_tuner_ && v.ok) admission_tuner_->Answered(model, v.met, now);
    return;
  }
  // A stream: time its first chunk and its end from the connection's thread, or, when its route
  // counts its own content (api::StreamProgress: chunks sent on the producer's thread never reach
  // this writer), its first content unit and how many followed.
  res->stream = [this, inner = std::move(res->stream), model, slo, started, status = res->status,
                 progress = res->progress](const api::ChunkWriter& write) {
    ResponseTiming t;
    t.status = status;
    t.stream = true;
    Clock::time_point first{};
    const api::ChunkWriter counting = [&](std::string_view chunk) {
      if (t.chunks++ == 0) first = Clock::now();
      return write(chunk);
    };
    inner(counting);
    const auto now = Clock::now();
    t.e2e_ms = MsBetween(started, now);
    if (t.chunks > 0) t.first_chunk_ms = MsBetween(started, first);
    if (progress) {
      const int64_t first_ns = progress->first_ns.load();
      t.first_chunk_ms =
          first_ns < 0 ? -1 : MsBetween(started, Clock::time_point(Clock::duration(first_ns)));
      // JudgeOutcome's chunks: the first, those after it and the end marker.
      t.chunks = first_ns < 0 ? 0 : static_cast<int>(progress->units.load()) + 1;
    }
    const Verdict v = JudgeOutcome(slo, t);
    slo_window_.Record(model, Seconds(now), v.latency_ms, v.ok, v.met);
  };
}

std::string NodeAgent::SloJson(double window_s, bool cluster) const {
  json out = slo_window_.Json(Seconds(Clock::now()), window_s);
  out["nodes"] = json::array({config_.id});
  if (cluster) {
    std::vector<std::pair<std::string, std::string>> peers;  // id, API address
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, p] : peers_) {
        std::lock_guard<std::mutex> peer_lock(p->mu);
        peers.emplace_back(id, p->record.api_address);
      }
    }
    for (const auto& [id, address] : peers) {
      const size_t colon = address.rfind(':');
      if (colon == std::string::npos) continue;
      httplib::Client c(address.substr(0, colon), std::atoi(address.substr(colon + 1).c_str()));
      c.set_connection_timeout(0, 300000);
      c.set_read_timeout(1, 0);
      if (!peer_auth_.credential.empty()) c.set_bearer_token_auth(peer_auth_.credential);
      auto r = c.Get("/v1/slo?window_s=" + std::to_string(window_s));
      if (!r || r->status != 200) continue;  // a node that does not answer is left out
      const json peer = json::parse(r->body, nullptr, false);
      if (!peer.is_object()) continue;
      json merged = out;  // a peer's malformed window (wrong types) is left out, not half-merged
      try {
        metrics::MergeSloJson(peer, &merged);
      } catch (const json::exception&) {
        continue;
      }
      out = std::move(merged);
      out["nodes"].push_back(id);
    }
  }
  metrics::SummarizeSloJson(&out);
  return out.dump();
}

void NodeAgent::AddObservabilityRoutes() {
  if (config_.observe)
    server_->SetObserver([this](const api::HttpRequest& req, api::HttpResponse* res,
                                Clock::time_point started) { ObserveRequest(req, res, started); });
  // ?window_s=S (default 300, at most 300), ?scope=cluster: metrics/slo_window.h.
  server_->Route("GET", "/v1/slo", [this](const api::HttpRequest& req, api::HttpResponse* res) {
    const double window = std::atof(req.Query("window_s", "300").c_str());
    res->body = SloJson(window > 0 ? window : 300, req.Query("scope") == "cluster");
  });
  // The controller's recent period records, newest last (controller/plan_record.h).
  server_->Route("GET", "/v1/plans", [this](const api::HttpRequest&, api::HttpResponse* res) {
    cluster::KeyValue kv;
    const Status s = store_->Get(cluster::kPlansKey, &kv);
    if (s.ok()) {
      res->body = kv.value;
    } else if (s.code() == StatusCode::kNotFound) {
      res->body = "[]";
    } else {
      res->status = 503;
      res->body =
          json{{"error", {{"message", "cluster store: " + s.message()}, {"type", "unavailable"}}}}
              .dump();
    }
  });
}

}  // namespace epara::node
