#include "loadgen/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "loadgen/open_loop.h"
#include "loadgen/svg_chart.h"

namespace epara::loadgen {
namespace {

using json = nlohmann::json;

const ServiceInfo& InfoOf(const std::vector<ServiceInfo>& services, int i) {
  static const ServiceInfo none;
  return i >= 0 && i < static_cast<int>(services.size()) ? services[i] : none;
}

// Share of the run meeting each request's own service SLO at `scale`; also the count.
double Attainment(const RunLog& run, const std::vector<ServiceInfo>& services, double scale,
                  int* meeting = nullptr) {
  int met = 0;
  for (size_t i = 0; i < run.records.size(); ++i)
    if (workload::MeetsSlo(run.records[i], InfoOf(services, run.service[i]).slo, scale)) ++met;
  if (meeting) *meeting = met;
  return run.records.empty() ? 0 : static_cast<double>(met) / run.records.size();
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string FileSafe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
  return s;
}

// The runs of one workload and policy, by rate.
std::vector<const RunLog*> RunsOf(const std::vector<RunLog>& runs, const std::string& w,
                                  const std::string& p) {
  std::vector<const RunLog*> out;
  for (const RunLog& r : runs)
    if (r.workload == w && r.policy == p) out.push_back(&r);
  std::sort(out.begin(), out.end(),
            [](const RunLog* a, const RunLog* b) { return a->rate < b->rate; });
  return out;
}

template <typename T>
std::vector<std::string> InOrder(const std::vector<RunLog>& runs, T key) {
  std::vector<std::string> out;
  for (const RunLog& r : runs)
    if (std::find(out.begin(), out.end(), key(r)) == out.end()) out.push_back(key(r));
  return out;
}

// The latency a request is judged by first: TTFT for LLMs, end-to-end otherwise.
double HeadlineMs(const RunLog& run, size_t i, const std::vector<ServiceInfo>& services) {
  return InfoOf(services, run.service[i]).llm ? run.records[i].ttft_ms : run.records[i].e2e_ms;
}

}  // namespace

MissBreakdown BreakDownMisses(const RunLog& run, const std::vector<ServiceInfo>& services) {
  MissBreakdown m;
  m.requests = static_cast<int>(run.records.size());
  for (size_t i = 0; i < run.records.size(); ++i) {
    const workload::RequestRecord& r = run.records[i];
    const workload::Slo& slo = InfoOf(services, run.service[i]).slo;
    if (workload::MeetsSlo(r, slo)) continue;
    ++m.missed;
    const int status = i < run.status.size() ? run.status[i] : 0;
    if (status == 503 || status == 429)
      ++m.rejected;
    else if (!r.ok)
      ++m.failed;
    else if (slo.e2e_ms > 0 && r.e2e_ms > slo.e2e_ms)
      ++m.late_e2e;
    else if (slo.ttft_ms > 0 && r.ttft_ms > slo.ttft_ms)
      ++m.late_ttft;
    else
      ++m.late_tpot;
    const std::string node = i < run.node.size() ? run.node[i] : "";
    ++m.by_node[!node.empty() ? node
                              : "ingress " + (i < run.ingress.size() ? run.ingress[i] : "?")];
  }
  return m;
}

std::vector<std::string> UnbracketedPolicies(const WorkloadSummary& summary) {
  std::vector<std::string> out;
  for (const PolicySummary& ps : summary.policies) {
    if (ps.sweep.empty()) continue;
    if (!ps.limit_reached)
      out.push_back(ps.policy + " (met 90% at every swept rate: raise the top rate)");
    else if (ps.goodput90 <= 0)
      out.push_back(ps.policy + " (missed 90% at the lowest swept rate: lower it)");
  }
  return out;
}

std::vector<WorkloadSummary> Summarize(
    const std::vector<RunLog>& runs,
    const std::map<std::string, std::vector<ServiceInfo>>& services) {
  std::vector<WorkloadSummary> out;
  const auto policies = InOrder(runs, [](const RunLog& r) { return r.policy; });
  for (const std::string& w : InOrder(runs, [](const RunLog& r) { return r.workload; })) {
    WorkloadSummary ws;
    ws.workload = w;
    const auto sv = services.count(w) ? services.at(w) : std::vector<ServiceInfo>{};
    for (const std::string& p : policies) {
      const auto mine = RunsOf(runs, w, p);
      if (mine.empty()) continue;
      PolicySummary ps;
      ps.policy = p;
      // Per rate (in first-seen order): the repeats' attainments and SLO-meeting rates; per
      // repeat: its own sweep.
      std::vector<double> rates;
      std::map<double, std::vector<double>> attain_at, rps_at;
      std::map<int, std::vector<workload::SweepPoint>> sweep_of;
      for (const RunLog* r : mine) {
        int met = 0;
        const double a = Attainment(*r, sv, 1, &met);
        if (!attain_at.count(r->rate)) rates.push_back(r->rate);
        attain_at[r->rate].push_back(a);
        rps_at[r->rate].push_back(r->duration_s > 0 ? met / r->duration_s : 0);
        sweep_of[r->repeat].push_back({r->rate, a});
        ps.limit_reached |= a < 0.9;  // some run missed: the goodput is a measurement, not a bound
        ps.lateness_p99_ms = std::max(ps.lateness_p99_ms, r->lateness_p99_ms);
        const MissBreakdown m = BreakDownMisses(*r, sv);
        ps.ok += m.requests - m.missed;
        ps.late += m.late_e2e + m.late_ttft + m.late_tpot;
        ps.rejected += m.rejected;
        ps.failed += m.failed;
      }
      for (double rate : rates) {
        ps.sweep.push_back({rate, workload::MeanInterval95(attain_at[rate]).mean});
        ps.slo_meeting_rps.push_back(workload::MeanInterval95(rps_at[rate]).mean);
      }
      ps.repeats = static_cast<int>(sweep_of.size());
      ps.goodput99 = workload::Goodput(ps.sweep, 0.99);
      if (ps.repeats > 1) {
        std::vector<double> each;
        for (const auto& [repeat, sweep] : sweep_of) each.push_back(workload::Goodput(sweep, 0.9));
        ps.goodput90_interval = workload::MeanInterval95(each);
        ps.goodput90 = ps.goodput90_interval.mean;
      } else {
        ps.goodput90 = workload::Goodput(ps.sweep, 0.9);
        ps.goodput90_interval = workload::MeanInterval95({ps.goodput90});
      }
      ws.policies.push_back(std::move(ps));
    }
    const PolicySummary* epara = nullptr;
    const PolicySummary* best = nullptr;
    for (const PolicySummary& ps : ws.policies) {
      if (ps.policy == "epara")
        epara = &ps;
      else if (!best || ps.goodput90 > best->goodput90)
        best = &ps;
    }
    if (best) ws.strongest_baseline = best->policy;
    if (epara && best && best->goodput90 > 0) ws.ratio = epara->goodput90 / best->goodput90;
    if (epara && best)
      ws.separated = workload::Separated(epara->goodput90_interval, best->goodput90_interval);
    out.push_back(std::move(ws));
  }
  return out;
}

Status WriteReport(const std::string& dir, const std::string& command,
                   const std::vector<RunLog>& runs,
                   const std::map<std::string, std::vector<ServiceInfo>>& services,
                   const std::vector<std::string>& notes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  const std::vector<WorkloadSummary> summaries = Summarize(runs, services);
  json j = {{"command", command},
            {"notes", notes},
            {"workloads", json::array()},
            {"runs", json::array()}};
  std::ostringstream md;
  md << "# epara bench: goodput comparison\n\n```sh\n" << command << "\n```\n\n";
  for (const std::string& n : notes) md << "- " << n << "\n";
  md << "\nGoodput = the highest offered rate (requests/s) at which >= 90% (99%) of requests meet "
        "their SLO (DistServe), interpolated between swept rates; `>=` marks a policy that met "
        "90% at every swept rate (the sweep did not reach its limit). Rejected, failed and "
        "timed-out requests are misses. With repeated runs (`--repeats`), goodput @90% is the mean "
        "of the repeats' own goodputs with its 95% interval [lo, hi] (Student's t), and the "
        "attainment by rate is the repeats' mean.\n";
  for (const WorkloadSummary& ws : summaries) {
    const auto sv =
        services.count(ws.workload) ? services.at(ws.workload) : std::vector<ServiceInfo>{};
    json jw = {{"workload", ws.workload},
               {"strongest_baseline", ws.strongest_baseline},
               {"ratio_to_strongest_baseline", ws.ratio},
               {"intervals_separate", ws.separated},
               {"policies", json::array()}};
    md << "\n## " << ws.workload << "\n\n";
    for (const ServiceInfo& s : sv)
      md << "- " << s.model << (s.llm ? " (LLM)" : "") << ": SLO"
         << (s.slo.e2e_ms > 0 ? " e2e " + Fmt("%.0f", s.slo.e2e_ms) + " ms" : "")
         << (s.slo.ttft_ms > 0 ? " TTFT " + Fmt("%.0f", s.slo.ttft_ms) + " ms" : "")
         << (s.slo.tpot_ms > 0 ? " TPOT " + Fmt("%.0f", s.slo.tpot_ms) + " ms" : "") << "\n";
    md << "\n| policy | goodput @90% | goodput @99% | attainment by rate | SLO-meeting req/s by "
          "rate "
          "| met / late / rejected / failed | generator lateness p99 "
          "|\n|---|---|---|---|---|---|---|\n";
    std::vector<ChartSeries> attain, meeting, scale, cdf;
    for (const PolicySummary& ps : ws.policies) {
      std::string by_rate, rps;
      ChartSeries a{ps.policy, {}}, m{ps.policy, {}};
      for (size_t i = 0; i < ps.sweep.size(); ++i) {
        by_rate += (i ? ", " : "") + Fmt("%g", ps.sweep[i].rate) + ": " +
                   Fmt("%.0f%%", 100 * ps.sweep[i].attainment);
        rps += (i ? ", " : "") + Fmt("%.2f", ps.slo_meeting_rps[i]);
        a.points.push_back({ps.sweep[i].rate, 100 * ps.sweep[i].attainment});
        m.points.push_back({ps.sweep[i].rate, ps.slo_meeting_rps[i]});
      }
      attain.push_back(a);
      meeting.push_back(m);
      const std::string lower = ps.limit_reached ? "" : ">= ";
      const workload::Interval& iv = ps.goodput90_interval;
      md << "| " << ps.policy << " | " << lower << Fmt("%.2f", ps.goodput90)
         << (ps.repeats > 1 ? Fmt(" [%.2f, ", iv.lo) + Fmt("%.2f]", iv.hi) : std::string()) << " | "
         << (ps.goodput99 > 0 || ps.limit_reached ? "" : ">= ") << Fmt("%.2f", ps.goodput99)
         << " | " << by_rate << " | " << rps << " | " << ps.ok << " / " << ps.late << " / "
         << ps.rejected << " / " << ps.failed << " | " << Fmt("%.2f ms", ps.lateness_p99_ms)
         << " |\n";
      json sweep = json::array();
      for (size_t i = 0; i < ps.sweep.size(); ++i)
        sweep.push_back({{"rate", ps.sweep[i].rate},
                         {"attainment", ps.sweep[i].attainment},
                         {"slo_meeting_rps", ps.slo_meeting_rps[i]}});
      jw["policies"].push_back({{"policy", ps.policy},
                                {"goodput90", ps.goodput90},
                                {"repeats", ps.repeats},
                                {"goodput90_ci95", {iv.lo, iv.hi}},
                                {"goodput99", ps.goodput99},
                                {"limit_reached", ps.limit_reached},
                                {"sweep", sweep},
                                {"met", ps.ok},
                                {"late", ps.late},
                                {"rejected", ps.rejected},
                                {"failed", ps.failed},
                                {"lateness_p99_ms", ps.lateness_p99_ms}});
      // At the sweep's middle rate: attainment vs SLO scale, and the headline latency's CDF.
      const auto mine = RunsOf(runs, ws.workload, ps.policy);
      if (!mine.empty()) {
        const RunLog& mid = *mine[mine.size() / 2];
        ChartSeries s{ps.policy, {}}, c{ps.policy, {}};
        for (double k : {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0})
          s.points.push_back({k, 100 * Attainment(mid, sv, k)});
        std::vector<double> lat;
        for (size_t i = 0; i < mid.records.size(); ++i)
          if (mid.records[i].ok) lat.push_back(HeadlineMs(mid, i, sv));
        std::sort(lat.begin(), lat.end());
        for (size_t i = 0; i < lat.size(); ++i)
          c.points.push_back({lat[i], 100.0 * (i + 1) / static_cast<double>(mid.records.size())});
        scale.push_back(s);
        cdf.push_back(c);
      }
    }
    const std::vector<std::string> unbracketed = UnbracketedPolicies(ws);
    if (!unbracketed.empty()) {
      md << "\nNot bracketed by the sweep (goodput a bound, not a measurement): ";
      for (size_t i = 0; i < unbracketed.size(); ++i) md << (i ? "; " : "") << unbracketed[i];
      md << ".\n";
    }
    jw["unbracketed"] = unbracketed;
    // Where requests went and how each node did: routing and placement losses show here.
    md << "\nServed by node (all rates; share of answered requests, and the share of those meeting "
          "the SLO):\n\n| policy | nodes |\n|---|---|\n";
    for (const PolicySummary& ps : ws.policies) {
      std::map<std::string, std::pair<int, int>> by_node;  // node -> (served, met)
      int served = 0;
      for (const RunLog* r : RunsOf(runs, ws.workload, ps.policy))
        for (size_t i = 0; i < r->records.size() && i < r->node.size(); ++i) {
          if (!r->records[i].ok) continue;
          auto& n = by_node[r->node[i]];
          ++n.first;
          ++served;
          n.second += workload::MeetsSlo(r->records[i], InfoOf(sv, r->service[i]).slo);
        }
      std::string cells;
      for (const auto& [node, n] : by_node)
        cells += (cells.empty() ? "" : ", ") + node + " " +
                 Fmt("%.0f%%", 100.0 * n.first / std::max(1, served)) + " (" +
                 Fmt("%.0f%% met", 100.0 * n.second / std::max(1, n.first)) + ")";
      md << "| " << ps.policy << " | " << cells << " |\n";
    }
    if (!ws.strongest_baseline.empty()) {
      md << "\nepara / strongest baseline (" << ws.strongest_baseline << ") goodput @90%: **"
         << (ws.ratio > 0 ? Fmt("%.2fx", ws.ratio) : std::string("n/a (a goodput is 0)")) << "**";
      bool repeated = false;
      for (const PolicySummary& ps : ws.policies) repeated |= ps.repeats > 1;
      if (repeated)
        md << (ws.separated ? " (95% intervals separate: a measured difference)"
                            : " (95% intervals overlap: not a measured difference)");
      md << "\n";
    }
    // Where the goodput is lost: every policy's misses at the first rate where epara fell below
    // 90% (its highest swept rate if it never did), by reason and by node.
    double loss_rate = 0;
    for (const PolicySummary& ps : ws.policies)
      if (ps.policy == "epara" && !ps.sweep.empty()) {
        loss_rate = ps.sweep.back().rate;
        for (const workload::SweepPoint& p : ps.sweep)
          if (p.attainment < 0.9) {
            loss_rate = p.rate;
            break;
          }
      }
    if (loss_rate > 0) {
      md << "\nWhere requests were missed at " << Fmt("%g", loss_rate)
         << " req/s (the first swept rate where epara met < 90%): missed of sent; by reason "
            "(rejected = 503/429, failed = no complete answer); by the node that answered:\n\n"
            "| policy | missed | rejected | failed | late e2e | late TTFT | late TPOT | by node "
            "|\n|---|---|---|---|---|---|---|---|\n";
      json jl = json::array();
      for (const PolicySummary& ps : ws.policies)
        for (const RunLog* r : RunsOf(runs, ws.workload, ps.policy)) {
          if (r->rate != loss_rate) continue;
          const MissBreakdown m = BreakDownMisses(*r, sv);
          std::string nodes;
          for (const auto& [node, n] : m.by_node)
            nodes += (nodes.empty() ? "" : ", ") + node + " " + std::to_string(n);
          md << "| " << ps.policy << " | " << m.missed << " of " << m.requests << " | "
             << m.rejected << " | " << m.failed << " | " << m.late_e2e << " | " << m.late_ttft
             << " | " << m.late_tpot << " | " << nodes << " |\n";
          jl.push_back({{"policy", ps.policy},
                        {"rate", loss_rate},
                        {"requests", m.requests},
                        {"missed", m.missed},
                        {"rejected", m.rejected},
                        {"failed", m.failed},
                        {"late_e2e", m.late_e2e},
                        {"late_ttft", m.late_ttft},
                        {"late_tpot", m.late_tpot},
                        {"by_node", m.by_node}});
        }
      jw["misses"] = jl;
    }
    const std::string w = FileSafe(ws.workload);
    const std::pair<std::string, std::string> charts[] = {
        {"attainment_" + w + ".svg",
         SvgLineChart(attain, {ws.workload + ": SLO attainment vs offered rate",
                               "offered rate (requests/s)", "SLO attainment (%)"})},
        {"goodput_" + w + ".svg",
         SvgLineChart(meeting, {ws.workload + ": SLO-meeting requests/s vs offered rate",
                                "offered rate (requests/s)", "SLO-meeting requests/s"})},
        {"slo_scale_" + w + ".svg",
         SvgLineChart(scale, {ws.workload + ": attainment vs SLO scale (middle rate)", "SLO scale",
                              "SLO attainment (%)"})},
        {"cdf_" + w + ".svg",
         SvgLineChart(cdf, {ws.workload + ": latency CDF (middle rate; TTFT for LLMs)",
                            "latency (ms)", "requests answered (%)"})}};
    md << "\n";
    for (const auto& [name, svg] : charts) {
      std::ofstream(std::filesystem::path(dir) / name) << svg;
      md << "![" << name << "](" << name << ") ";
    }
    md << "\n";
    j["workloads"].push_back(jw);
  }
  // Per-node utilization over time, one chart per policy (all workloads, run after run).
  for (const std::string& p : InOrder(runs, [](const RunLog& r) { return r.policy; })) {
    std::map<std::string, ChartSeries> by_node;
    double t = 0;
    for (const RunLog& r : runs) {
      if (r.policy != p) continue;
      size_t n = 0;
      for (const auto& [node, samples] : r.node_busy) {
        ChartSeries& s = by_node[node];
        s.name = node;
        for (size_t i = 0; i < samples.size(); ++i) s.points.push_back({t + i, 100 * samples[i]});
        n = std::max(n, samples.size());
      }
      t += static_cast<double>(n);
    }
    if (by_node.empty()) continue;
    std::vector<ChartSeries> series;
    for (auto& [_, s] : by_node) series.push_back(std::move(s));
    const std::string name = "utilization_" + FileSafe(p) + ".svg";
    std::ofstream(std::filesystem::path(dir) / name)
        << SvgLineChart(series, {p + ": node CPU utilization, run after run", "seconds of load",
                                 "CPU utilization (%)"});
    md << "\n![" << name << "](" << name << ")\n";
  }
  for (const RunLog& r : runs) {
    json recs = json::array();
    for (size_t i = 0; i < r.records.size(); ++i)
      recs.push_back({r.records[i].sent_s, r.service[i], r.status[i], r.records[i].ok,
                      r.records[i].e2e_ms, r.records[i].ttft_ms, r.records[i].tpot_ms,
                      i < r.lateness_ms.size() ? r.lateness_ms[i] : 0.0,
                      i < r.ingress.size() ? r.ingress[i] : "",
                      i < r.node.size() ? r.node[i] : ""});
    j["runs"].push_back(
        {{"policy", r.policy},
         {"workload", r.workload},
         {"rate", r.rate},
         {"repeat", r.repeat},
         {"duration_s", r.duration_s},
         {"lateness_ms",
          {{"p50", r.lateness_p50_ms}, {"p99", r.lateness_p99_ms}, {"max", r.lateness_max_ms}}},
         {"max_in_flight", r.max_in_flight},
         {"generator_realtime", r.realtime},
         {"node_busy", r.node_busy},
         {"records_fields",
          {"sent_s", "service", "status", "ok", "e2e_ms", "ttft_ms", "tpot_ms", "lateness_ms",
           "ingress", "node"}},
         {"records", recs}});
  }
  std::ofstream(std::filesystem::path(dir) / "report.json") << j.dump(1);
  std::ofstream(std::filesystem::path(dir) / "report.md") << md.str();
  return Status::Ok();
}

Status ReadReportRuns(const std::string& path, std::vector<RunLog>* runs, std::string* command,
                      std::vector<std::string>* notes) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("runs") || !j["runs"].is_array())
    return InvalidArgument(path + ": not a report.json (no 'runs' array)");
  try {
    *command = j.value("command", std::string());
    notes->clear();
    if (j.contains("notes"))
      for (const json& n : j["notes"]) notes->push_back(n.get<std::string>());
    runs->clear();
    for (const json& jr : j["runs"]) {
      RunLog r;
      r.policy = jr.at("policy").get<std::string>();
      r.workload = jr.at("workload").get<std::string>();
      r.rate = jr.at("rate").get<double>();
      r.repeat = jr.value("repeat", 0);
      r.duration_s = jr.at("duration_s").get<double>();
      const json& late = jr.at("lateness_ms");
      r.lateness_p50_ms = late.at("p50").get<double>();
      r.lateness_p99_ms = late.at("p99").get<double>();
      r.lateness_max_ms = late.at("max").get<double>();
      r.max_in_flight = jr.value("max_in_flight", 0);
      r.realtime = jr.value("generator_realtime", false);
      if (jr.contains("node_busy"))
        r.node_busy = jr["node_busy"].get<std::map<std::string, std::vector<double>>>();
      std::map<std::string, size_t> at;
      const json& fields = jr.at("records_fields");
      for (size_t i = 0; i < fields.size(); ++i) at[fields[i].get<std::string>()] = i;
      for (const char* f : {"sent_s", "service", "status", "ok", "e2e_ms", "ttft_ms", "tpot_ms",
                            "lateness_ms", "ingress", "node"})
        if (!at.count(f)) return InvalidArgument(path + ": records_fields lacks '" + f + "'");
      for (const json& rec : jr.at("records")) {
        workload::RequestRecord x;
        x.sent_s = rec.at(at["sent_s"]).get<double>();
        x.ok = rec.at(at["ok"]).get<bool>();
        x.e2e_ms = rec.at(at["e2e_ms"]).get<double>();
        x.ttft_ms = rec.at(at["ttft_ms"]).get<double>();
        x.tpot_ms = rec.at(at["tpot_ms"]).get<double>();
        r.records.push_back(x);
        r.service.push_back(rec.at(at["service"]).get<int>());
        r.status.push_back(rec.at(at["status"]).get<int>());
        r.lateness_ms.push_back(rec.at(at["lateness_ms"]).get<double>());
        r.ingress.push_back(rec.at(at["ingress"]).get<std::string>());
        r.node.push_back(rec.at(at["node"]).get<std::string>());
      }
      runs->push_back(std::move(r));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": malformed run: " + e.what());
  }
  return Status::Ok();
}

}  // namespace epara::loadgen
