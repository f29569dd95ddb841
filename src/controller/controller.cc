#include "controller/controller.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "cluster/membership.h"
#include "controller/deploy_executor.h"
#include "controller/period_plan.h"
#include "controller/plan_record.h"
#include "core/thread_name.h"
#include "scheduler/deployment.h"

namespace epara::controller {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The hindsight is an expectation at the period's rate: the mean over this many arrival draws.
constexpr int kHindsightDraws = 8;

}  // namespace

Controller::Controller(cluster::ClusterStore* store, ControllerOptions options)
    : store_(store), options_(std::move(options)) {}

Controller::~Controller() { Stop(); }

uint64_t Controller::periods() const {
  std::lock_guard<std::mutex> lock(mu_);
  return periods_;
}

Status Controller::Step(int* moves) {
  if (moves) *moves = 0;
  std::vector<cluster::NodeRecord> records;
  EPARA_RETURN_IF_ERROR(cluster::ListNodes(store_, &records));
  std::map<std::string, std::string> api;
  PeriodInput in;
  for (const cluster::NodeRecord& r : records) {
    api[r.id] = r.api_address;
    PeriodInput::Node n{r.id, r.FastestGflops(), 0};
    for (const cluster::DeviceRecord& d : r.devices) n.memory_bytes += d.memory_bytes;
    in.nodes.push_back(n);
    for (const cluster::InstanceRecord& i : r.instances) {
      if (i.task == "llm")
        in.llms.insert(i.model);
      else
        in.current[i.model].insert(r.id);
      if (i.split > 1) in.split.insert(i.model);
    }
  }
  double max_gflops = 0;
  for (const PeriodInput::Node& n : in.nodes) max_gflops = std::max(max_gflops, n.gflops);
  if (max_gflops <= 0) max_gflops = 1;

  // 1. Observe: ingress counters -> smoothed rates; peers' digests -> service times; SLO-met
  // counters -> the goodput of the period that just ended (what the twin forecast for it).
  const auto now = Clock::now();
  double observed_rps = 0;
  bool observed = false;
  // For the twin's hindsight: the last period's own rates per (service, ingress), its length, and
  // the sizes of the requests the nodes ended lately.
  DemandTable period_rates;
  double period_s = 0;
  std::map<std::string, std::vector<RequestShape>> shapes;
  std::vector<TwinBacklog> backlog;  // what the nodes hold now (their digests' queues)
  std::set<std::string> backlog_seen;
  for (const cluster::NodeRecord& r : records) {
    std::string text;
    // A node that cannot be read (down, or refusing the credential) waits a period.
    if (!FetchClusterView(r.api_address, &text, options_.credential).ok()) continue;
    const json v = json::parse(text, nullptr, false);
    if (!v.is_object()) continue;
    if (v.contains("ingress")) {
      auto last = last_read_.find(r.id);
      const double dt =
          last == last_read_.end() ? 0 : std::chrono::duration<double>(now - last->second).count();
      std::map<std::string, uint64_t> counts;
      for (const auto& [model, count] : v["ingress"].items()) counts[model] = count.get<uint64_t>();
      if (options_.twin && dt > 0) {
        std::map<std::string, uint64_t> before = last_counts_[r.id];
        ObserveIngress(r.id, counts, dt, 1.0, &before, &period_rates);  // alpha 1: this period's
        period_s = std::max(period_s, dt);
      }
      ObserveIngress(r.id, counts, dt, options_.demand_smoothing, &last_counts_[r.id], &demand_,
                     &period_entered_);
      last_read_[r.id] = now;
      if (v.contains("ingress_met") && v["ingress_met"].is_object()) {
        std::map<std::string, uint64_t>& before = last_met_[r.id];
        for (const auto& [model, count] : v["ingress_met"].items()) {
          if (!count.is_number_unsigned()) continue;  // a malformed view costs its count only
          const uint64_t n = count.get<uint64_t>();
          auto b = before.find(model);
          if (dt > 0 && (b == before.end() || n >= b->second)) {  // backwards: a restart
            const uint64_t met = n - (b == before.end() ? 0 : b->second);
            observed_rps += static_cast<double>(met) / dt;
            observed = true;
            period_met_[model] += met;
          }
          before[model] = n;
        }
      }
    }
    if (options_.twin) {
      AddViewShapes(v, kTwinShapesKept, &shapes);
      AddViewBacklog(v, &backlog_seen, &backlog);
    }
    for (const auto& n : v["nodes"]) {
      if (n["self"].get<bool>() || !n.contains("digest")) continue;
      double g = 0;
      for (const auto& d : n["devices"]) g = std::max(g, d["speed_gflops"].get<double>());
      for (const auto& i : n["digest"]["instances"]) {
        const double ms = i["service_ms"].get<double>();
        if (ms <= 0 || g <= 0) continue;
        const double at_reference = ms * g / max_gflops;
        auto& best = in.observed_ms[i["model"].get<std::string>()];
        best = best > 0 ? std::min(best, at_reference) : at_reference;
      }
    }
  }

  // 2. Place, and 3. order the changes (period_plan.h).
  in.profiles = &options_.profiles;
  in.demand = &demand_;
  in.burst_headroom = options_.burst_headroom;
  in.placement = options_.placement;
  PeriodPlan plan;
  EPARA_RETURN_IF_ERROR(PlanPeriod(in, &plan));
  // The digital twin weighs the plan against the current placement over the next period.
  json twin_record;
  const double forecast_last = forecast_rps_, forecast_offered_last = forecast_offered_rps_;
  forecast_rps_ = -1;
  if (options_.twin) {
    TwinQuery q;
    for (const cluster::NodeRecord& r : records) {
      q.live.push_back(r.id);
      for (const cluster::InstanceRecord& i : r.instances) q.current[i.model].insert(r.id);
    }
    q.shapes = std::move(shapes);
    q.seed = periods() + 1;
    q.backlog_known = true;
    q.backlog = std::move(backlog);
    // Hindsight: the placement in force run at the last period's own rates from the backlog the
    // nodes held when it began. Its error against what the nodes observed is the twin's model
    // alone; the forecast's adds the demand forecast. The mean of several arrival draws: one
    // period's few Poisson draws would add their own noise to an expectation.
    json last_period;
    if (observed && forecast_last >= 0) {
      TwinQuery h = q;
      h.candidate = h.current;
      h.demand = &period_rates;
      h.horizon_s = period_s;
      h.backlog = last_backlog_;
      TwinVerdict hv;
      bool ran = period_s > 0;
      for (int k = 0; ran && k < kHindsightDraws; ++k) {
        h.seed = q.seed * kHindsightDraws + k;
        TwinVerdict one;
        ran = options_.twin(h, &one).ok();
        hv.current_rps += one.current_rps / kHindsightDraws;
        hv.offered_rps += one.offered_rps / kHindsightDraws;
      }
      last_period = {{"forecast_rps", forecast_last},
                     {"forecast_offered_rps", forecast_offered_last},
                     {"observed_rps", observed_rps}};
      char line[240];
      if (ran) {
        last_period["hindsight_rps"] = hv.current_rps;
        last_period["offered_rps"] = hv.offered_rps;
        std::snprintf(line, sizeof line,
                      "controller: twin forecast %.2f req/s meeting their SLO for the last period, "
                      "observed %.2f; at the period's own %.2f req/s it predicts %.2f",
                      forecast_last, observed_rps, hv.offered_rps, hv.current_rps);
      } else {
        std::snprintf(line, sizeof line,
                      "controller: twin forecast %.2f req/s meeting their SLO for the last period, "
                      "observed %.2f",
                      forecast_last, observed_rps);
      }
      if (options_.log) options_.log(line);
    }
    last_backlog_ = q.backlog;
    q.candidate = CandidatePlacement(q.current, plan);
    q.demand = &demand_;
    q.horizon_s = std::chrono::duration<double>(options_.period).count();
    TwinVerdict v;
    if (Status s = options_.twin(q, &v); !s.ok()) {
      if (options_.log) options_.log("controller: twin failed, plan applied: " + s.ToString());
    } else {
      const bool changed = !plan.steps.empty();
      const bool applied = changed && v.apply;
      forecast_rps_ = applied ? v.candidate_rps : v.current_rps;
      forecast_offered_rps_ = v.offered_rps;
      twin_record = {{"offered_rps", v.offered_rps},
                     {"current_rps", v.current_rps},
                     {"candidate_rps", v.candidate_rps},
                     {"noise_rps", v.noise_rps},
                     {"applied", applied},
                     {"forecast_rps", forecast_rps_}};
      if (observed) twin_record["observed_last_period_rps"] = observed_rps;
      if (!last_period.is_null()) twin_record["last_period"] = last_period;
      if (changed && !applied) {
        if (options_.log) {
          char line[240];
          std::snprintf(line, sizeof line,
                        "controller: keeps its placement: the twin predicts %.2f -> %.2f req/s "
                        "meeting their SLO (noise %.2f), %zu steps not applied",
                        v.current_rps, v.candidate_rps, v.noise_rps, plan.steps.size());
          options_.log(line);
        }
        twin_record["steps_not_applied"] = plan.steps.size();
        plan.target = in.current;
        plan.steps.clear();
      }
    }
  }
  const std::vector<scheduler::DeployStep>& steps = plan.steps;
  const std::vector<scheduler::ServiceState>& services = plan.services;
  scheduler::Instances& current = in.current;
  scheduler::Instances& target = plan.target;
  const scheduler::PlacementResult& placed = plan.placed;
  if (options_.log && !steps.empty())
    for (const scheduler::ServiceState& s : services) {
      const scheduler::ServiceOutcome& o = placed.services.at(s.name);
      if (target[s.name] == current[s.name]) continue;
      char line[300];
      std::snprintf(line, sizeof line,
                    "controller: %s demand %.1f req/s, capacity %.1f -> %.1f req/s predicted",
                    s.name.c_str(), o.demand, o.capacity, o.predicted_goodput);
      options_.log(line);
    }
  // LLM modes (llm_modes.h): a lost LLM comes back whole or as a pipeline; a pipeline goes whole.
  std::vector<LlmModeStep> llm_steps;
  if (!options_.llm_sizes.empty()) llm_steps = PlanLlmSteps(records);
  period_entered_.clear();
  period_met_.clear();
  for (const LlmModeStep& st : llm_steps) {  // what a built pipeline was built for
    if (st.kind == LlmModeStep::Kind::kLoadHead && st.for_demand_rps > 0)
      built_for_[st.model] = st.for_demand_rps;
    if (st.kind == LlmModeStep::Kind::kUnloadHead) built_for_.erase(st.model);
  }
  // The period's record, with the numbers behind it, for GET /v1/plans (plan_record.h). A store
  // that cannot take it costs the record, not the period.
  {
    cluster::KeyValue history;
    (void)store_->Get(cluster::kPlansKey, &history);
    const double unix_ms = std::chrono::duration<double, std::milli>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    json record = PlanRecordJson(in, plan, periods() + 1, unix_ms);
    if (!twin_record.is_null()) record["twin"] = twin_record;
    if (!llm_steps.empty()) {
      json lines = json::array();
      for (const LlmModeStep& st : llm_steps) lines.push_back(DescribeLlmStep(st));
      record["llm_modes"] = lines;
    }
    (void)store_->Put(cluster::kPlansKey, AppendPlanRecord(history.value, record),
                      cluster::kNoLease);
  }
  ExecuteOptions eo;
  eo.grace_ms = options_.grace_ms;
  eo.credential = options_.credential;
  eo.log = [&](const std::string& line) {
    if (options_.log) options_.log("controller: " + line);
  };
  Status s = ExecuteDeployment(steps, api, eo);
  if (s.ok() && !llm_steps.empty()) s = ExecuteLlmModeSteps(llm_steps, api, eo);
  if (moves) *moves = static_cast<int>(steps.size() + llm_steps.size());
  return s;
}

std::vector<LlmModeStep> Controller::PlanLlmSteps(const std::vector<cluster::NodeRecord>& records) {
  LlmModeInput in;
  in.demand_modes = options_.llm_expand;
  for (const cluster::NodeRecord& r : records) {
    LlmModeInput::Node n{r.id, r.FastestGflops(), 0, r.memory_used_bytes};
    for (const cluster::DeviceRecord& d : r.devices) n.memory_bytes += d.memory_bytes;
    in.nodes.push_back(n);
  }
  for (const auto& [name, size] : options_.llm_sizes) {
    LlmModeInput::Llm l;
    l.name = name;
    l.size = size;
    for (const cluster::NodeRecord& r : records) {
      for (const cluster::InstanceRecord& i : r.instances)
        if (i.model == name && i.task == "llm") {
          if (i.next.empty())
            l.whole.insert(r.id);
          else
            l.heads.push_back({r.id, 0, i.end_layer, i.next});
        }
      for (const cluster::StageRecord& st : r.stages)
        if (st.model == name) l.stages.push_back({r.id, st.first_layer, st.end_layer, st.next});
    }
    if (!l.whole.empty() || !l.heads.empty()) llms_seen_.insert(name);
    l.wanted = llms_seen_.count(name) > 0;  // the controller restores, it does not introduce
    l.declared = options_.declared_pipelines.count(name) > 0;
    if (auto d = demand_.find(name); d != demand_.end())
      for (const auto& [ingress, estimate] : d->second) l.demand_rps += estimate.mean();
    if (const uint64_t entered = period_entered_[name]; entered > 0)
      l.attainment =
          std::min(1.0, static_cast<double>(period_met_[name]) / static_cast<double>(entered));
    if (auto b = built_for_.find(name); b != built_for_.end()) l.built_for_rps = b->second;
    in.llms.push_back(std::move(l));
  }
  return PlanLlmModes(in);
}

void Controller::Start() {
  std::vector<cluster::KeyValue> now;
  int64_t revision = 0;
  if (store_->List(cluster::kNodePrefix, &now, &revision).ok())
    (void)store_->Watch(
        cluster::kNodePrefix, revision,
        [this](const cluster::WatchEvent& e) {
          if (e.type != cluster::WatchEvent::Type::kDelete) return;
          {
            std::lock_guard<std::mutex> lock(mu_);
            replan_now_ = true;
          }
          cv_.notify_all();
        },
        &watch_);
  thread_ = std::thread([this] {
    SetCurrentThreadName("ep-controller");
    Loop();
  });
}

bool Controller::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

void Controller::Campaign() {
  bool leading = leader();
  if (leading && !store_->KeepAlive(lease_).ok()) {
    leading = false;
    if (options_.log) options_.log("controller: " + options_.identity + " lost its leadership");
  }
  if (!leading) {
    if (lease_ == cluster::kNoLease || !store_->KeepAlive(lease_).ok())
      if (!store_->GrantLease(options_.lease_ttl, &lease_).ok()) lease_ = cluster::kNoLease;
    bool created = false;
    if (lease_ != cluster::kNoLease &&
        store_->PutIfAbsent(kLeaderKey, options_.identity, lease_, &created).ok() && created) {
      leading = true;
      if (options_.log) options_.log("controller: " + options_.identity + " is the leader");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  leader_ = leading;
}

void Controller::Loop() {
  const auto tick =
      std::min<std::chrono::milliseconds>(options_.period, std::chrono::milliseconds(500));
  auto next_step = Clock::now() + options_.period;
  for (;;) {
    bool replan = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, tick, [&] { return stopping_ || replan_now_; });
      if (stopping_) break;
      replan = replan_now_;
      replan_now_ = false;
    }
    if (options_.elect) Campaign();
    if ((!replan && Clock::now() < next_step) || (options_.elect && !leader())) continue;
    if (replan && options_.log) options_.log("controller: a node left: re-planning now");
    next_step = Clock::now() + options_.period;
    if (Status s = Step(); !s.ok() && options_.log)
      options_.log("controller: period failed: " + s.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    ++periods_;
  }
  if (options_.elect && lease_ != cluster::kNoLease) (void)store_->RevokeLease(lease_);  // resign
}

void Controller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  watch_.reset();
}

}  // namespace epara::controller
