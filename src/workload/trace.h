// Production request traces for the goodput benchmark (issue 7): the Azure LLM inference traces
// (`TIMESTAMP,ContextTokens,GeneratedTokens`, Splitwise / Azure Public Dataset 2023, CC-BY 4.0;
// see ../shared/traces/README.md) and their scaling to a small edge model and a target rate.
//
// Scaling keeps the shape: time is scaled by one factor (every inter-arrival gap alike, so the
// burstiness, the gaps' coefficient of variation, is unchanged) and lengths by another (every
// prompt and output length alike, so their quantiles keep their ratios), never truncated.
// Pure apart from LoadAzureTrace's file read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace epara::workload {

struct TraceRequest {
  double arrival_s = 0;  // from the trace's first request
  int prompt_tokens = 0;
  int output_tokens = 0;
};

// Parses the CSV (header line first; timestamps "YYYY-MM-DD HH:MM:SS.fffffff", sorted or not:
// the result is sorted by arrival). InvalidArgument naming the line on a malformed row; NotFound
// when the file cannot be read.
Status LoadAzureTrace(const std::string& path, std::vector<TraceRequest>* out);
Status ParseAzureTrace(const std::string& csv, const std::string& source,
                       std::vector<TraceRequest>* out);

struct TraceScaling {
  double target_rate = 0;  // requests/s after scaling; 0: keep the trace's rate
  // Lengths are multiplied by one factor so that the p99 of prompt + output tokens fits
  // `max_context` (when it does not already); every length stays >= 1.
  int max_context = 0;  // 0: keep the lengths
};

struct TraceStats {
  double rate = 0;             // requests/s over the trace's span
  double interarrival_cv = 0;  // stddev / mean of the gaps
  double prompt_p50 = 0, prompt_p90 = 0, prompt_p99 = 0;
  double output_p50 = 0, output_p90 = 0, output_p99 = 0;
};
TraceStats Describe(const std::vector<TraceRequest>& trace);

// The scaled trace; `time_factor` and `length_factor` (optional) report the factors used.
std::vector<TraceRequest> ScaleTrace(const std::vector<TraceRequest>& trace,
                                     const TraceScaling& scaling, double* time_factor = nullptr,
                                     double* length_factor = nullptr);

// Synthetic arrivals: `n` request times with Gamma-distributed gaps of mean 1/rate and the given
// coefficient of variation (1: Poisson), from `seed` (deterministic).
std::vector<double> GammaArrivals(double rate, double cv, int n, uint64_t seed);

}  // namespace epara::workload
