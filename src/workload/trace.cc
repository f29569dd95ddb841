#include "workload/trace.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

namespace epara::workload {
namespace {

// Seconds since the epoch of "YYYY-MM-DD HH:MM:SS[.fraction]" (UTC); false if malformed.
bool ParseTimestamp(const std::string& s, double* out) {
  std::tm tm{};
  int frac_start = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac_start) != 6)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double frac = 0;
  if (frac_start < static_cast<int>(s.size()) && s[frac_start] == '.') {
    double scale = 0.1;
    for (size_t i = frac_start + 1; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]));
         ++i, scale /= 10)
      frac += (s[i] - '0') * scale;
  }
  *out = static_cast<double>(timegm(&tm)) + frac;
  return true;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t i = static_cast<size_t>(pos);
  const double f = pos - i;
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

}  // namespace

Status ParseAzureTrace(const std::string& csv, const std::string& source,
                       std::vector<TraceRequest>* out) {
  std::istringstream in(csv);
  std::string line;
  std::vector<std::pair<double, TraceRequest>> rows;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 || line.empty()) continue;  // header
    const size_t c1 = line.find(','), c2 = line.find(',', c1 + 1);
    double t = 0;
    TraceRequest r;
    if (c1 == std::string::npos || c2 == std::string::npos ||
        !ParseTimestamp(line.substr(0, c1), &t) ||
        std::sscanf(line.c_str() + c1 + 1, "%d", &r.prompt_tokens) != 1 ||
        std::sscanf(line.c_str() + c2 + 1, "%d", &r.output_tokens) != 1 || r.prompt_tokens < 0 ||
        r.output_tokens < 0)
      return InvalidArgument(source + ":" + std::to_string(n) +
                             ": expected TIMESTAMP,ContextTokens,GeneratedTokens, got '" + line +
                             "'");
    rows.emplace_back(t, r);
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out->clear();
  for (auto& [t, r] : rows) {
    r.arrival_s = t - rows.front().first;
    out->push_back(r);
  }
  return Status::Ok();
}

Status LoadAzureTrace(const std::string& path, std::vector<TraceRequest>* out) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read trace " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseAzureTrace(ss.str(), path, out);
}

TraceStats Describe(const std::vector<TraceRequest>& trace) {
  TraceStats s;
  if (trace.size() < 2) return s;
  const double span = trace.back().arrival_s - trace.front().arrival_s;
  s.rate = span > 0 ? (trace.size() - 1) / span : 0;
  double sum = 0, sq = 0;
  for (size_t i = 1; i < trace.size(); ++i) {
    const double g = trace[i].arrival_s - trace[i - 1].arrival_s;
    sum += g;
    sq += g * g;
  }
  const double n = static_cast<double>(trace.size() - 1), mean = sum / n;
  s.interarrival_cv = mean > 0 ? std::sqrt(std::max(0.0, sq / n - mean * mean)) / mean : 0;
  std::vector<double> p, o;
  for (const TraceRequest& r : trace) {
    p.push_back(r.prompt_tokens);
    o.push_back(r.output_tokens);
  }
  s.prompt_p50 = Quantile(p, 0.5);
  s.prompt_p90 = Quantile(p, 0.9);
  s.prompt_p99 = Quantile(p, 0.99);
  s.output_p50 = Quantile(o, 0.5);
  s.output_p90 = Quantile(o, 0.9);
  s.output_p99 = Quantile(o, 0.99);
  return s;
}

std::vector<TraceRequest> ScaleTrace(const std::vector<TraceRequest>& trace,
                                     const TraceScaling& scaling, double* time_factor,
                                     double* length_factor) {
  const TraceStats st = Describe(trace);
  const double tf = scaling.target_rate > 0 && st.rate > 0 ? st.rate / scaling.target_rate : 1;
  double lf = 1;
  if (scaling.max_context > 0) {
    std::vector<double> total;
    for (const TraceRequest& r : trace) total.push_back(r.prompt_tokens + r.output_tokens);
    const double p99 = Quantile(total, 0.99);
    if (p99 > scaling.max_context) lf = scaling.max_context / p99;
  }
  std::vector<TraceRequest> out;
  out.reserve(trace.size());
  for (const TraceRequest& r : trace)
    out.push_back({r.arrival_s * tf,
                   std::max(1, static_cast<int>(std::lround(r.prompt_tokens * lf))),
                   std::max(1, static_cast<int>(std::lround(r.output_tokens * lf)))});
  if (time_factor) *time_factor = tf;
  if (length_factor) *length_factor = lf;
  return out;
}

std::vector<double> GammaArrivals(double rate, double cv, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Gamma(k, theta): mean k theta = 1/rate, cv = 1/sqrt(k).
  const double k = 1 / std::max(1e-6, cv * cv), theta = 1 / (rate * k);
  std::gamma_distribution<double> gap(k, theta);
  std::vector<double> t;
  double now = 0;
  for (int i = 0; i < n; ++i) {
    t.push_back(now);
    now += gap(rng);
  }
  return t;
}

}  // namespace epara::workload
