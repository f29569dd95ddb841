// The goodput comparison's report (issue 7): from every run's request log, per (workload,
// policy): SLO attainment per offered rate, goodput at 90% and 99% attainment (DistServe,
// workload/goodput.h), SLO-meeting requests/s, attainment vs SLO scale, latency CDFs; per
// workload: epara's goodput over the strongest baseline's. Written as report.json (every number
// and every request), report.md and SVG charts. Pure apart from WriteReport's files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "workload/goodput.h"

namespace epara::loadgen {

struct RunLog {  // one policy x workload x offered rate
  std::string policy, workload;
  double rate = 0;
  int repeat = 0;  // which repetition of this (policy, workload, rate): bench/sim --repeats
  double duration_s = 0;
  std::vector<workload::RequestRecord> records;
  std::vector<int> service;                // parallel to records: index into services
  std::vector<int> status;                 // parallel: HTTP status (0: none)
  std::vector<double> lateness_ms;         // parallel: the generator's send lateness
  std::vector<std::string> ingress, node;  // parallel: where it entered, which node served it
  double lateness_p50_ms = 0, lateness_p99_ms = 0, lateness_max_ms = 0;
  int max_in_flight = 0;
  bool realtime = false;  // the generator ran SCHED_FIFO (loadgen/open_loop.h)
  std::map<std::string, std::vector<double>> node_busy;  // node -> CPU utilization samples
};

struct ServiceInfo {
  std::string model;
  bool llm = false;
  workload::Slo slo;
};

// With repeated runs (RunLog::repeat), the sweep holds each rate's mean attainment over its
// repeats, and goodput90 is the mean of the repeats' own goodputs (each from that repeat's sweep),
// with its 95% interval; one repeat: goodput from the sweep, as before.
struct PolicySummary {
  std::string policy;
  std::vector<workload::SweepPoint> sweep;  // attainment per rate
  std::vector<double> slo_meeting_rps;      // per sweep point
  double goodput90 = 0, goodput99 = 0;
  int repeats = 1;
  workload::Interval goodput90_interval;  // over the repeats' goodputs
  bool limit_reached = false;  // some swept rate missed 90% (else goodput is a lower bound)
  double lateness_p99_ms = 0;  // worst over its runs
  int ok = 0, rejected = 0, failed = 0, late = 0;
};

struct WorkloadSummary {
  std::string workload;
  std::vector<PolicySummary> policies;
  std::string strongest_baseline;
  double ratio = 0;  // epara goodput90 / strongest baseline's; 0 when either is missing
  // epara's and the strongest baseline's goodput intervals do not overlap (both repeated): only
  // then is the ratio a measured difference.
  bool separated = false;
};

// Why a run's requests missed their SLO, and where: each miss counted once, by the first reason
// in this order (rejected: 503/429; failed: no complete answer, including the bench's cap; then
// the first latency over its SLO: e2e, TTFT, TPOT), and by the node that answered (or
// "ingress <node>" when none did).
struct MissBreakdown {
  int requests = 0, missed = 0;
  int rejected = 0, failed = 0, late_e2e = 0, late_ttft = 0, late_tpot = 0;
  std::map<std::string, int> by_node;
};
MissBreakdown BreakDownMisses(const RunLog& run, const std::vector<ServiceInfo>& services);

// The policies whose 90% point the sweep did not bracket, each with what to change: "P (met 90% at
// every swept rate: raise the top rate)" or "P (missed 90% at the lowest swept rate: lower it)".
// Their goodput is a bound (or 0), not a measurement.
std::vector<std::string> UnbracketedPolicies(const WorkloadSummary& summary);

// Summaries from the logs, `services` per workload.
std::vector<WorkloadSummary> Summarize(
    const std::vector<RunLog>& runs,
    const std::map<std::string, std::vector<ServiceInfo>>& services);

// Writes report.json, report.md and *.svg into `dir`. `command` is the command line to record.
Status WriteReport(const std::string& dir, const std::string& command,
                   const std::vector<RunLog>& runs,
                   const std::map<std::string, std::vector<ServiceInfo>>& services,
                   const std::vector<std::string>& notes);

// Reads back the runs, command and notes of a report.json that WriteReport wrote (to render the
// report again, e.g. after the report gained a section). InvalidArgument names what is malformed.
Status ReadReportRuns(const std::string& path, std::vector<RunLog>* runs, std::string* command,
                      std::vector<std::string>* notes);

}  // namespace epara::loadgen
