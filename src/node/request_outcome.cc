#include "node/request_outcome.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace epara::node {

namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Stops at the first value after `key` at depth 1 (returning false ends the SAX pass).
class TopLevelString : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit TopLevelString(const std::string& key) : key_(key) {}
  const std::string& value() const { return value_; }
  bool null() override { return Other(); }
  bool boolean(bool) override { return Other(); }
  bool number_integer(number_integer_t) override { return Other(); }
  bool number_unsigned(number_unsigned_t) override { return Other(); }
  bool number_float(number_float_t, const string_t&) override { return Other(); }
  bool string(string_t& s) override {
    if (!at_key_) return true;
    value_ = s;
    return false;
  }
  bool binary(binary_t&) override { return Other(); }
  bool start_object(std::size_t) override { return Open(); }
  bool key(string_t& k) override {
    at_key_ = depth_ == 1 && k == key_;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return depth_ > 0 && Open(); }  // a top-level array: no
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Other() { return !at_key_ && depth_ > 0; }  // the key's value is not a string: stop
  bool Open() {
    if (at_key_) return false;
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  const std::string& key_;
  std::string value_;
  int depth_ = 0;
  bool at_key_ = false;
};

}  // namespace

std::string TopLevelJsonString(const std::string& body, const std::string& key) {
  TopLevelString sax(key);
  (void)nlohmann::json::sax_parse(body, &sax);
  return sax.value();
}

std::string InferenceModelOf(const std::string& method, const std::string& path,
                             const std::string& body) {
  if (method != "POST") return "";
  if (path == "/v1/completions" || path == "/v1/chat/completions") {
    return TopLevelJsonString(body, "model");
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
