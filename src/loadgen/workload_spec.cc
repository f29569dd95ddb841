#include "loadgen/workload_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/yaml_field.h"
#include "workload/trace.h"

namespace epara::loadgen {
namespace {

Status ReadWeights(const YAML::Node& n, const std::string& at, std::map<std::string, double>* out) {
  if (!n.IsMap() || n.size() == 0) return InvalidArgument(at + " must be a non-empty mapping");
  for (const auto& kv : n) {
    std::string key;
    EPARA_RETURN_IF_ERROR(MapKey(kv.first, at, &key));
    double w = 0;
    try {
      w = kv.second.as<double>();
    } catch (const YAML::Exception&) {
      return InvalidArgument(at + "." + key + " must be a number");
    }
    if (!(w > 0)) return InvalidArgument(at + "." + key + " must be > 0");
    (*out)[key] = w;
  }
  return Status::Ok();
}

// Picks a key by weight.
template <typename K>
K Pick(const std::vector<std::pair<K, double>>& weighted, std::mt19937_64& rng) {
  double total = 0;
  for (const auto& [_, w] : weighted) total += w;
  double x = std::uniform_real_distribution<double>(0, total)(rng);
  for (const auto& [k, w] : weighted) {
    if (x < w) return k;
    x -= w;
  }
  return weighted.back().first;
}

std::vector<std::pair<std::string, double>> Weighted(const std::map<std::string, double>& m) {
  return {m.begin(), m.end()};
}

}  // namespace

Status LoadWorkloadSpec(const std::string& path, WorkloadSpec* out) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read workload spec " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseWorkloadSpec(text.str(), path, std::filesystem::absolute(path).parent_path().string(),
                           out);
}

Status ParseWorkloadSpec(const std::string& yaml, const std::string& source,
                         const std::string& base_dir, WorkloadSpec* out) {
  const std::string at = source + ": ";
  YAML::Node root;
  EPARA_RETURN_IF_ERROR(ParseYamlMapping(yaml, at, "the workload spec", &root));
  WorkloadSpec s;
  s.name = std::filesystem::path(source).stem().string();
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "name", at, &s.name));
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "seed", at, &s.seed));
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "duration_s", at, &s.duration_s));
  EPARA_RETURN_IF_ERROR(ReadOptional(root, "rates", at, &s.rates));
  if (!(s.duration_s > 0)) return InvalidArgument(at + "duration_s must be > 0");
  if (s.rates.empty()) return InvalidArgument(at + "rates (a non-empty list) is missing");
  for (double r : s.rates)
    if (!(r > 0)) return InvalidArgument(at + "rates must be > 0");
  const YAML::Node services = root["services"];
  if (!services || !services.IsSequence() || services.size() == 0)
    return InvalidArgument(at + "services (a non-empty list) is missing");
  for (size_t i = 0; i < services.size(); ++i) {
    const std::string where = at + "services[" + std::to_string(i) + "].";
    const YAML::Node n = services[i];
    if (!n.IsMap()) return InvalidArgument(where + " is not a mapping");
    ServiceLoad l;
    std::string kind = "segmentation";
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "model", where, &l.model));
    if (l.model.empty()) return InvalidArgument(where + "model is missing");
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "kind", where, &kind));
    if (kind != "segmentation" && kind != "llm")
      return InvalidArgument(where + "kind must be segmentation or llm, got '" + kind + "'");
    l.llm = kind == "llm";
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "share", where, &l.share));
    if (!(l.share > 0)) return InvalidArgument(where + "share must be > 0");
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "trace", where, &l.trace));
    if (!l.trace.empty() && std::filesystem::path(l.trace).is_relative())
      l.trace = (std::filesystem::path(base_dir) / l.trace).lexically_normal().string();
    if (!l.trace.empty() && !l.llm) return InvalidArgument(where + "trace is for kind: llm");
    if (const YAML::Node a = n["arrivals"]) {
      if (!a.IsMap()) return InvalidArgument(where + "arrivals is not a mapping");
      EPARA_RETURN_IF_ERROR(ReadOptional(a, "cv", where + "arrivals.", &l.cv));
      if (!(l.cv > 0)) return InvalidArgument(where + "arrivals.cv must be > 0");
    }
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "max_context", where, &l.max_context));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "prompt_tokens", where, &l.prompt_tokens));
    EPARA_RETURN_IF_ERROR(ReadOptional(n, "output_tokens", where, &l.output_tokens));
    if (l.prompt_tokens < 1 || l.output_tokens < 1)
      return InvalidArgument(where + "prompt_tokens and output_tokens must be >= 1");
    if (const YAML::Node images = n["images"]) {
      if (!images.IsSequence()) return InvalidArgument(where + "images is not a list");
      for (const YAML::Node& im : images) {
        int size = 0;
        double weight = 1;
        EPARA_RETURN_IF_ERROR(ReadOptional(im, "size", where + "images.", &size));
        EPARA_RETURN_IF_ERROR(ReadOptional(im, "weight", where + "images.", &weight));
        if (size < 8 || size > 4096 || !(weight > 0))
          return InvalidArgument(where + "images: size must be 8..4096 and weight > 0");
        l.images.push_back({size, weight});
      }
    }
    if (l.images.empty()) l.images.push_back({256, 1});
    if (const YAML::Node slo = n["slo"]) {
      EPARA_RETURN_IF_ERROR(ReadOptional(slo, "e2e_ms", where + "slo.", &l.slo.e2e_ms));
      EPARA_RETURN_IF_ERROR(ReadOptional(slo, "ttft_ms", where + "slo.", &l.slo.ttft_ms));
      EPARA_RETURN_IF_ERROR(ReadOptional(slo, "tpot_ms", where + "slo.", &l.slo.tpot_ms));
    }
    if (l.slo.e2e_ms <= 0 && l.slo.ttft_ms <= 0 && l.slo.tpot_ms <= 0)
      return InvalidArgument(where + "slo needs e2e_ms, ttft_ms or tpot_ms");
    if (!n["ingress"]) return InvalidArgument(where + "ingress is missing");
    EPARA_RETURN_IF_ERROR(ReadWeights(n["ingress"], where + "ingress", &l.ingress));
    s.services.push_back(std::move(l));
  }
  if (const YAML::Node shift = root["shift"]) {
    EPARA_RETURN_IF_ERROR(ReadOptional(shift, "at_s", at + "shift.", &s.shift_at_s));
    if (!(s.shift_at_s >= 0)) return InvalidArgument(at + "shift.at_s must be >= 0");
    const YAML::Node ing = shift["ingress"];
    if (!ing || !ing.IsMap()) return InvalidArgument(at + "shift.ingress (by model) is missing");
    for (const auto& kv : ing) {
      std::string model;
      EPARA_RETURN_IF_ERROR(MapKey(kv.first, at + "shift.ingress", &model));
      if (std::none_of(s.services.begin(), s.services.end(),
                       [&](const ServiceLoad& l) { return l.model == model; }))
        return InvalidArgument(at + "shift.ingress." + model + " is not a service of the workload");
      EPARA_RETURN_IF_ERROR(
          ReadWeights(kv.second, at + "shift.ingress." + model, &s.shift_ingress[model]));
    }
  }
  *out = std::move(s);
  return Status::Ok();
}

Status BuildSchedule(const WorkloadSpec& spec, double rate, std::vector<ScheduledRequest>* out) {
  out->clear();
  double total_share = 0;
  for (const ServiceLoad& l : spec.services) total_share += l.share;
  for (size_t i = 0; i < spec.services.size(); ++i) {
    const ServiceLoad& l = spec.services[i];
    const double service_rate = rate * l.share / total_share;
    // Independent of the rate: every swept rate replays the same arrival pattern, compressed in
    // time, with the same ingress and size for the k-th request (a sweep then compares like with
    // like instead of a different burst at every rate).
    std::mt19937_64 rng(spec.seed * 1000003 + i * 7919);
    std::vector<ScheduledRequest> mine;
    if (!l.trace.empty()) {
      // A window of the trace: as many consecutive requests as the highest swept rate sends in
      // the duration, from a seeded offset, time-scaled so that the window's mean rate is this
      // service's rate (lower rates stretch the same window; the run cuts it at the duration).
      std::vector<workload::TraceRequest> trace;
      EPARA_RETURN_IF_ERROR(workload::LoadAzureTrace(l.trace, &trace));
      workload::TraceScaling lengths;
      lengths.max_context = l.max_context;
      trace = workload::ScaleTrace(trace, lengths);  // lengths only; time kept
      const double max_rate = *std::max_element(spec.rates.begin(), spec.rates.end());
      const size_t window = static_cast<size_t>(
          std::ceil(std::max(rate, max_rate) * l.share / total_share * spec.duration_s));
      if (trace.size() < window + 2)
        return InvalidArgument(l.trace + ": " + std::to_string(trace.size()) +
                               " requests, fewer than the " + std::to_string(window + 2) +
                               " the workload needs");
      // The start depends on the seed only, as a fraction of the trace, so that adding a rate
      // to the sweep (a longer window) extends the same stretch of the trace instead of moving
      // to another (unless the window would run past the trace's end).
      const double at = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      const size_t offset = std::min(trace.size() - window - 2,
                                     static_cast<size_t>(at * static_cast<double>(trace.size())));
      const double span = trace[offset + window].arrival_s - trace[offset].arrival_s;
      const double factor = window / (service_rate * std::max(span, 1e-9));
      for (size_t k = offset; k < offset + window; ++k) {
        ScheduledRequest r;
        r.at_s = (trace[k].arrival_s - trace[offset].arrival_s) * factor;
        if (r.at_s >= spec.duration_s) break;
        r.prompt_tokens = trace[k].prompt_tokens;
        r.output_tokens = trace[k].output_tokens;
        mine.push_back(r);
      }
    } else {
      const int n = static_cast<int>(service_rate * spec.duration_s * 2) + 16;
      for (double unit : workload::GammaArrivals(1.0, l.cv, n, rng())) {
        const double t = unit / service_rate;
        if (t >= spec.duration_s) break;
        ScheduledRequest r;
        r.at_s = t;
        r.prompt_tokens = l.prompt_tokens;
        r.output_tokens = l.output_tokens;
        mine.push_back(r);
      }
    }
    const auto ingress = Weighted(l.ingress);
    std::vector<std::pair<std::string, double>> shifted;
    if (auto s = spec.shift_ingress.find(l.model); s != spec.shift_ingress.end())
      shifted = Weighted(s->second);
    for (ScheduledRequest& r : mine) {
      r.service = static_cast<int>(i);
      const bool after = spec.shift_at_s >= 0 && r.at_s >= spec.shift_at_s && !shifted.empty();
      r.ingress = Pick(after ? shifted : ingress, rng);
      if (!l.llm) r.image_size = Pick(l.images, rng);
      out->push_back(std::move(r));
    }
  }
  std::stable_sort(
      out->begin(), out->end(),
      [](const ScheduledRequest& a, const ScheduledRequest& b) { return a.at_s < b.at_s; });
  return Status::Ok();
}

}  // namespace epara::loadgen
