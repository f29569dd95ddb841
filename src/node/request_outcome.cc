#include "node/request_outcome.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace epara::node {

namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string InferenceModelOf(const std::string& method, const std::string& path,
                             const std::string& body) {
  if (method != "POST") return "";
  if (path == "/v1/completions" || path == "/v1/chat/completions") {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) return "";
    auto m = j.find("model");
    return m != j.end() && m->is_string() ? m->get<std::string>() : "";
  }
  if (StartsWith(path, "/v1/segment/")) {
    const std::string m = path.substr(12);
    return m.find('/') == std::string::npos ? m : "";
  }
  if (StartsWith(path, "/v2/models/") && path.size() > 17 &&
      path.compare(path.size() - 6, 6, "/infer") == 0) {
    const std::string rest = path.substr(11, path.size() - 17);  // {m}[/versions/{v}]
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) return rest;
    return StartsWith(rest.substr(slash), "/versions/") &&
                   rest.find('/', slash + 10) == std::string::npos
               ? rest.substr(0, slash)
               : "";
  }
  return "";
}

Verdict JudgeOutcome(const ServiceSlo& slo, const ResponseTiming& t) {
  Verdict v;
  v.ok = t.status >= 200 && t.status < 300;
  if (!slo.llm) {
    v.latency_ms = t.e2e_ms;
    v.met = v.ok && (slo.slo_ms <= 0 || t.e2e_ms <= slo.slo_ms);
    return v;
  }
  if (t.stream) {
    v.ok = v.ok && t.first_chunk_ms >= 0;
    v.latency_ms = std::max(0.0, t.first_chunk_ms);
    const int tokens_after_first = std::max(0, t.chunks - 2);  // less the first and the end marker
    const bool ttft_met = slo.slo_ms <= 0 || t.first_chunk_ms <= slo.slo_ms;
    const bool tpot_met = slo.tpot_ms <= 0 || tokens_after_first == 0 ||
                          (t.e2e_ms - t.first_chunk_ms) / tokens_after_first <= slo.tpot_ms;
    v.met = v.ok && ttft_met && tpot_met;
    return v;
  }
  v.latency_ms = t.e2e_ms;
  const double budget =
      slo.slo_ms + slo.tpot_ms * static_cast<double>(std::max<int64_t>(0, t.completion_tokens - 1));
  v.met = v.ok && (slo.slo_ms <= 0 || t.e2e_ms <= budget);
  return v;
}

}  // namespace epara::node
