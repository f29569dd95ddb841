#include "router/route_candidates.h"

#include <algorithm>

#include "llm/step_cost.h"

namespace epara::router {
namespace {

// An LLM candidate's time to first token (llm/step_cost.h): the queued prompt tokens and the
// running batch as its wait, its own prompt's prefill as its service.
void SetLlmPrediction(double prefill_ms_per_token, double decode_step_ms, int64_t queued_tokens,
                      int running, int64_t prompt_tokens, RouteCandidate* c) {
  c->expected_wait_ms =
      llm::PredictTtftMs(prefill_ms_per_token, decode_step_ms, queued_tokens, 0, running);
  c->service_ms = static_cast<double>(prompt_tokens) * prefill_ms_per_token;
}

}  // namespace

double UnmeasuredServiceMs(double profile_solo_ms, double profile_gflops, double node_gflops) {
  node_gflops = std::max(node_gflops, 1e-3);
  if (profile_solo_ms > 0 && profile_gflops > 0)
    return profile_solo_ms * profile_gflops / node_gflops;
  return 100.0 / node_gflops;
}

RouteCandidate LocalInstanceCandidate(const std::string& node_id, bool ready,
                                      double expected_wait_ms, double service_ms, int outstanding,
                                      double unmeasured_service_ms) {
  RouteCandidate c;
  c.node_id = node_id;
  c.local = true;
  c.ready = ready;
  if (ready) {
    c.expected_wait_ms = expected_wait_ms;
    c.service_ms = service_ms > 0 ? service_ms : unmeasured_service_ms;
    c.service_measured = service_ms > 0;
    c.outstanding = outstanding;
  }
  return c;
}

RouteCandidate LocalLlmCandidate(const std::string& node_id, const LlmEngineLoad& st,
                                 int64_t prompt_tokens, double mean_ttft_ms,
                                 double unmeasured_service_ms) {
  RouteCandidate c;
  c.node_id = node_id;
  c.local = true;
  c.outstanding = st.running + st.waiting;
  if (st.prefill_ms_per_token > 0) {
    // Exact queue, measured costs: the prefill ahead and the running batch's steps, then its
    // own prompt (a long prompt on a slow device is what a least-outstanding count misses).
    SetLlmPrediction(st.prefill_ms_per_token, st.decode_step_ms, st.waiting_prompt_tokens,
                     st.running, prompt_tokens, &c);
  } else {
    // No step measured yet: every sequence already there slows a new one's first token by
    // about one of its own TTFTs (shared steps).
    c.service_ms = mean_ttft_ms > 0 ? mean_ttft_ms : unmeasured_service_ms;
    c.service_measured = mean_ttft_ms > 0;
    c.expected_wait_ms = c.outstanding * c.service_ms;
  }
  return c;
}

RouteCandidate PeerCandidate(const std::string& node_id, const PeerView& v, int64_t prompt_tokens) {
  RouteCandidate c;
  c.node_id = node_id;
  const cluster::InstanceLoad* load = v.load;
  c.ready = load && load->ready && v.fresh && !v.unreachable;
  // An LLM engine: its measured step costs, or before it has measured any, this node's own
  // scaled by the two devices' speeds.
  double prefill_ms = load ? load->prefill_ms_per_token : 0, decode_ms = 0;
  if (load && prefill_ms > 0) {
    decode_ms = load->decode_step_ms;
  } else if (load && v.own_prefill_ms_per_token > 0 && v.llm) {
    prefill_ms = v.own_prefill_ms_per_token * v.slower;
    decode_ms = v.own_decode_step_ms * v.slower;
  }
  if (prefill_ms > 0) {
    c.network_ms = v.network_ms;
    SetLlmPrediction(prefill_ms, decode_ms,
                     static_cast<int64_t>(load->queued_prompt_tokens) + v.recent_prompt_tokens,
                     static_cast<int>(load->in_flight), prompt_tokens, &c);
    c.outstanding = static_cast<int>(load->queue_length + load->in_flight) + v.mine;
  } else if (load) {
    c.network_ms = v.network_ms;
    // Each request this node has sent there since its digest costs a row of a recent batch
    // (batch time / mean rows; see engine/batch_cost.h).
    const double rows = std::max(1.0, load->batch_occupancy * load->max_batch);
    c.expected_wait_ms = load->expected_wait_ms + v.mine * load->service_ms / rows;
    c.service_ms = load->service_ms > 0 ? load->service_ms : v.unmeasured_service_ms;
    c.service_measured = load->service_ms > 0;
    c.outstanding = static_cast<int>(load->queue_length + load->in_flight) + v.mine;
  }
  return c;
}

}  // namespace epara::router
