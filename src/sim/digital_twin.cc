#include "sim/digital_twin.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "sim/hash.h"

namespace epara::sim {
namespace {

uint64_t HashText(const std::string& s, uint64_t h) {
  for (unsigned char c : s) h = Mix64(h ^ c);
  return h;
}

// A request of `m` sized by the query's shapes of its service (in turn, `*turn` advancing) or,
// without any, by the model's defaults.
void SizeRequest(const controller::TwinQuery& q, const SimModel& m, size_t* turn,
                 loadgen::ScheduledRequest* r) {
  const auto shapes = q.shapes.find(m.name);
  if (shapes != q.shapes.end() && !shapes->second.empty()) {
    const controller::RequestShape& s = shapes->second[(*turn)++ % shapes->second.size()];
    r->image_size = s.image_size;
    r->prompt_tokens = s.prompt_tokens;
    r->output_tokens = s.output_tokens;
  } else if (m.llm) {
    r->prompt_tokens = 128;
    r->output_tokens = 64;
  } else {
    r->image_size = m.width > 0 ? m.width : 256;
  }
}

// The query's backlog (backlog_known): each held request enters at its node just before the
// horizon (`at_s`, uncounted); a running LLM request as a one-token prompt with half its output.
void AddBacklog(const SimSpec& base, const controller::TwinQuery& q, double at_s,
                const std::set<std::string>& live, std::vector<std::string>* names,
                std::vector<loadgen::ScheduledRequest>* schedule) {
  std::map<std::string, const SimModel*> models;
  for (const SimModel& m : base.models) models[m.name] = &m;
  std::map<std::string, size_t> turns;
  for (const controller::TwinBacklog& b : q.backlog) {
    auto m = models.find(b.service);
    if (m == models.end() || !live.count(b.node)) continue;
    auto named = std::find(names->begin(), names->end(), b.service);
    const int index = static_cast<int>(named - names->begin());
    if (named == names->end()) names->push_back(b.service);
    for (int k = 0; k < b.queued + b.running; ++k) {
      loadgen::ScheduledRequest r;
      r.at_s = at_s;
      r.service = index;
      r.ingress = b.node;
      SizeRequest(q, *m->second, &turns[b.service], &r);
      if (k >= b.queued && m->second->llm) {  // running: prefilled, half its output to go
        r.prompt_tokens = 1;
        r.output_tokens = std::max(1, r.output_tokens / 2);
      }
      schedule->push_back(std::move(r));
    }
  }
}

// The arrivals of `query`: one Poisson stream per (service, live ingress) at its smoothed mean
// (or the replayed ones), and the backlog; sorted by time; `names` receives the services (schedule
// indices name them). `warmup_s`: where the horizon begins (with a known backlog nothing arrives
// before it).
Status Arrivals(const SimSpec& base, const controller::TwinQuery& q, double warmup_s, double span_s,
                std::vector<std::string>* names, std::vector<loadgen::ScheduledRequest>* schedule) {
  names->clear();
  schedule->clear();
  const std::set<std::string> live(q.live.begin(), q.live.end());
  const double first_s = q.backlog_known ? warmup_s : 0;
  if (q.backlog_known) AddBacklog(base, q, std::max(0.0, warmup_s - 1e-6), live, names, schedule);
  if (!q.replay.empty()) {
    std::map<std::string, int> index;
    for (const SimModel& m : base.models) index.emplace(m.name, -1);
    for (size_t k = 0; k < names->size(); ++k) index[(*names)[k]] = static_cast<int>(k);
    for (const controller::TwinArrival& a : q.replay) {
      auto it = index.find(a.service);
      if (it == index.end()) continue;  // no model: not forecast, as with demand
      if (it->second < 0) {
        it->second = static_cast<int>(names->size());
        names->push_back(a.service);
      }
      if (a.at_s >= span_s) break;
      if (a.at_s < first_s) continue;        // before the backlog: in it, or done
      if (!live.count(a.ingress)) continue;  // refused at a dead ingress: met by no placement
      loadgen::ScheduledRequest r;
      r.at_s = a.at_s;
      r.service = it->second;
      r.ingress = a.ingress;
      r.image_size = a.shape.image_size;
      r.prompt_tokens = a.shape.prompt_tokens;
      r.output_tokens = a.shape.output_tokens;
      schedule->push_back(std::move(r));
    }
    std::stable_sort(schedule->begin(), schedule->end(),
                     [](const auto& a, const auto& b) { return a.at_s < b.at_s; });
    return Status::Ok();
  }
  if (!q.demand) return Status::Ok();
  std::map<std::string, const SimModel*> models;
  for (const SimModel& m : base.models) models[m.name] = &m;
  for (const auto& [service, by_ingress] : *q.demand) {
    auto m = models.find(service);
    if (m == models.end()) continue;  // a service the twin has no model for is not forecast
    auto named = std::find(names->begin(), names->end(), service);
    const int index = static_cast<int>(named - names->begin());
    if (named == names->end()) names->push_back(service);
    size_t turn = 0;
    for (const auto& [ingress, estimate] : by_ingress) {
      const double rate = estimate.mean();
      if (rate <= 0 || !live.count(ingress)) continue;  // a dead ingress's clients reach no one
      uint64_t h = HashText(ingress, HashText(service, Mix64(q.seed)));
      for (double t = first_s;;) {
        h = Mix64(h);
        t += -std::log1p(-UnitInterval(h)) / rate;
        if (t >= span_s) break;
        loadgen::ScheduledRequest r;
        r.at_s = t;
        r.service = index;
        r.ingress = ingress;
        SizeRequest(q, *m->second, &turn, &r);
        schedule->push_back(std::move(r));
      }
    }
  }
  std::stable_sort(schedule->begin(), schedule->end(),
                   [](const auto& a, const auto& b) { return a.at_s < b.at_s; });
  return Status::Ok();
}

}  // namespace

bool ModelSloMet(const SimModel& m, const SimOutcome& o) {
  if (!o.ok) return false;
  if (!m.llm) return m.slo_ms <= 0 || o.e2e_ms <= m.slo_ms;
  if (m.slo_ms > 0 && o.ttft_ms > m.slo_ms) return false;
  return m.tpot_ms <= 0 || o.tpot_ms <= m.tpot_ms;
}

DigitalTwin::DigitalTwin(SimSpec base, TwinOptions options)
    : base_(std::move(base)), options_(options) {
  base_.options.controller_period_s = 0;
  base_.options.twin = false;
  base_.options.faults.clear();
  base_.options.digest_loss = 0;
  options_.batches = std::max(1, options_.batches);
}

namespace {

// The spec for one placement: the live nodes, each serving what `placement` puts on it; a pipeline
// whose chain passes through a node the controller does not see cannot serve (its head drops it).
Status PlacementSpec(const SimSpec& base, const controller::TwinQuery& q,
                     const scheduler::Instances& placement, SimSpec* out) {
  const std::set<std::string> live(q.live.begin(), q.live.end());
  std::map<std::string, const SimNodeSpec*> by_id;
  for (const SimNodeSpec& n : base.nodes) by_id[n.id] = &n;
  for (const auto& [service, hosts] : placement)
    for (const std::string& h : hosts)
      if (!by_id.count(h))
        return InvalidArgument("the twin's placement puts '" + service + "' on unknown node '" + h +
                               "'");
  *out = base;
  out->nodes.clear();
  for (const SimNodeSpec& n : base.nodes) {
    if (!live.count(n.id)) continue;
    SimNodeSpec c = n;
    c.serve.clear();
    for (const auto& [service, hosts] : placement) {
      if (!hosts.count(n.id)) continue;
      bool chain_live = true;
      if (auto p = n.pipeline.find(service); p != n.pipeline.end() && p->second.stage == 0) {
        for (std::string next = p->second.next; !next.empty() && chain_live;) {
          auto at = by_id.find(next);
          chain_live = live.count(next) && at != by_id.end();
          if (!chain_live) break;
          auto s = at->second->pipeline.find(service);
          next = s == at->second->pipeline.end() ? "" : s->second.next;
        }
      }
      if (chain_live) c.serve.push_back(service);
    }
    out->nodes.push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace

Status DigitalTwin::Run(const controller::TwinQuery& q, const scheduler::Instances& placement,
                        std::vector<double>* per_batch, double* offered_rps) const {
  std::vector<std::string> names;
  std::vector<loadgen::ScheduledRequest> schedule;
  EPARA_RETURN_IF_ERROR(Arrivals(base_, q, options_.warmup_s,
                                 options_.warmup_s + std::max(1e-3, q.horizon_s), &names,
                                 &schedule));
  return RunOn(q, placement, names, schedule, per_batch, offered_rps);
}

Status DigitalTwin::RunOn(const controller::TwinQuery& q, const scheduler::Instances& placement,
                          const std::vector<std::string>& names,
                          const std::vector<loadgen::ScheduledRequest>& schedule,
                          std::vector<double>* per_batch, double* offered_rps) const {
  const double horizon = std::max(1e-3, q.horizon_s);
  const double span = options_.warmup_s + horizon;
  SimSpec spec;
  EPARA_RETURN_IF_ERROR(PlacementSpec(base_, q, placement, &spec));
  spec.options.seed = q.seed;
  per_batch->assign(static_cast<size_t>(options_.batches), 0.0);
  size_t counted = 0;
  if (!schedule.empty() && !spec.nodes.empty()) {
    std::vector<SimOutcome> outcomes;
    SimStats stats;
    EPARA_RETURN_IF_ERROR(Simulate(spec, names, schedule, span, &outcomes, &stats));
    std::map<std::string, const SimModel*> models;
    for (const SimModel& m : spec.models) models[m.name] = &m;
    const double width = horizon / options_.batches;
    for (size_t k = 0; k < schedule.size(); ++k) {
      const double t = schedule[k].at_s - options_.warmup_s;
      if (t < 0) continue;
      ++counted;
      const size_t b = std::min(per_batch->size() - 1, static_cast<size_t>(t / width));
      if (ModelSloMet(*models.at(names[static_cast<size_t>(schedule[k].service)]), outcomes[k]))
        (*per_batch)[b] += 1 / width;
    }
  } else {
    for (const loadgen::ScheduledRequest& r : schedule) counted += r.at_s >= options_.warmup_s;
  }
  if (offered_rps) *offered_rps = counted / horizon;
  return Status::Ok();
}

Status DigitalTwin::Forecast(const controller::TwinQuery& q,
                             controller::TwinVerdict* verdict) const {
  *verdict = controller::TwinVerdict{};
  // One set of arrivals for both placements (common random numbers).
  std::vector<std::string> names;
  std::vector<loadgen::ScheduledRequest> schedule;
  EPARA_RETURN_IF_ERROR(Arrivals(base_, q, options_.warmup_s,
                                 options_.warmup_s + std::max(1e-3, q.horizon_s), &names,
                                 &schedule));
  std::vector<double> current, candidate;
  EPARA_RETURN_IF_ERROR(RunOn(q, q.current, names, schedule, &current, &verdict->offered_rps));
  if (q.candidate == q.current)
    candidate = current;  // nothing changes: one run
  else
    EPARA_RETURN_IF_ERROR(RunOn(q, q.candidate, names, schedule, &candidate, nullptr));
  const double n = static_cast<double>(current.size());
  double sum_cur = 0, sum_cand = 0, sum_d = 0;
  for (size_t b = 0; b < current.size(); ++b) {
    sum_cur += current[b];
    sum_cand += candidate[b];
    sum_d += candidate[b] - current[b];
  }
  verdict->current_rps = sum_cur / n;
  verdict->candidate_rps = sum_cand / n;
  const double mean_d = sum_d / n;
  double ss = 0;
  for (size_t b = 0; b < current.size(); ++b) {
    const double d = candidate[b] - current[b] - mean_d;
    ss += d * d;
  }
  verdict->noise_rps = n > 1 ? 2 * std::sqrt(ss / (n - 1) / n) : 0;
  verdict->apply =
      controller::TwinApproves(verdict->current_rps, verdict->candidate_rps, verdict->noise_rps);
  return Status::Ok();
}

}  // namespace epara::sim
