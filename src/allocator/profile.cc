#include "allocator/profile.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace epara::allocator {
namespace {

using json = nlohmann::json;

json TimingJson(const Timing& t) {
  return {{"median_ms", t.median_ms},
          {"min_ms", t.min_ms},
          {"max_ms", t.max_ms},
          {"spread", t.spread()}};
}

Status ReadTiming(const json& j, const std::string& where, Timing* t) {
  if (!j.is_object() || !j.contains("median_ms") || !j["median_ms"].is_number())
    return InvalidArgument(where + ".median_ms is missing");
  t->median_ms = j["median_ms"].get<double>();
  t->min_ms = j.value("min_ms", t->median_ms);
  t->max_ms = j.value("max_ms", t->median_ms);
  return Status::Ok();
}

}  // namespace

Timing Summarize(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  Timing t;
  t.min_ms = s.front();
  t.max_ms = s.back();
  t.median_ms = s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
  return t;
}

ServiceProfile Profile::ForCategorizer() const {
  ServiceProfile p;
  p.memory_bytes = memory_bytes;
  int best_threads = 0;
  for (const BatchPoint& b : batches)
    if (b.batch == 1 && b.threads >= best_threads) {
      best_threads = b.threads;
      p.solo_ms = b.latency.median_ms;
    }
  if (!prefill.empty()) {
    const auto shortest = std::min_element(
        prefill.begin(), prefill.end(),
        [](const PrefillPoint& a, const PrefillPoint& b) { return a.tokens < b.tokens; });
    p.solo_ms = shortest->latency.median_ms;
  }
  return p;
}

std::string ProfileKey(const Profile& p) {
  return std::string(kProfilePrefix) + p.device_class + "/" + p.model;
}

std::string ProfilesToJson(const std::vector<Profile>& profiles) {
  json all = json::array();
  for (const Profile& p : profiles) {
    json j = {{"model", p.model},
              {"task", p.task},
              {"engine", p.engine},
              {"device_class", p.device_class},
              {"memory_bytes", p.memory_bytes},
              {"speed_gflops", p.speed_gflops},
              {"repeats", p.repeats}};
    json batches = json::array(), prefill = json::array(), decode = json::array();
    for (const BatchPoint& b : p.batches)
      batches.push_back(
          {{"threads", b.threads}, {"batch", b.batch}, {"latency", TimingJson(b.latency)}});
    for (const PrefillPoint& x : p.prefill)
      prefill.push_back({{"tokens", x.tokens}, {"latency", TimingJson(x.latency)}});
    for (const DecodePoint& x : p.decode)
      decode.push_back({{"batch", x.batch}, {"latency", TimingJson(x.latency)}});
    j["batches"] = batches;
    j["prefill"] = prefill;
    j["decode"] = decode;
    all.push_back(j);
  }
  return json{{"profiles", all}}.dump(2);
}

Status ParseProfiles(const std::string& text, std::vector<Profile>* out) {
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!root.is_object() || !root.contains("profiles") || !root["profiles"].is_array())
    return InvalidArgument("profiles: expected an object with a 'profiles' array");
  std::vector<Profile> result;
  const json& all = root["profiles"];
  for (size_t i = 0; i < all.size(); ++i) {
    const json& j = all[i];
    const std::string where = "profiles[" + std::to_string(i) + "]";
    if (!j.is_object() || !j.contains("model") || !j["model"].is_string())
      return InvalidArgument(where + ".model is missing");
    Profile p;
    p.model = j["model"].get<std::string>();
    p.task = j.value("task", std::string());
    p.engine = j.value("engine", std::string());
    p.device_class = j.value("device_class", std::string());
    if (!j.contains("memory_bytes") || !j["memory_bytes"].is_number_integer())
      return InvalidArgument(where + ".memory_bytes is missing");
    p.memory_bytes = j["memory_bytes"].get<int64_t>();
    p.repeats = j.value("repeats", 0);
    p.speed_gflops = j.value("speed_gflops", 0.0);
    for (const json& b : j.value("batches", json::array())) {
      BatchPoint x;
      x.threads = b.value("threads", 1);
      x.batch = b.value("batch", 1);
      EPARA_RETURN_IF_ERROR(
          ReadTiming(b.value("latency", json()), where + ".batches[].latency", &x.latency));
      p.batches.push_back(x);
    }
    for (const json& b : j.value("prefill", json::array())) {
      PrefillPoint x;
      x.tokens = b.value("tokens", 0);
      EPARA_RETURN_IF_ERROR(
          ReadTiming(b.value("latency", json()), where + ".prefill[].latency", &x.latency));
      p.prefill.push_back(x);
    }
    for (const json& b : j.value("decode", json::array())) {
      DecodePoint x;
      x.batch = b.value("batch", 1);
      EPARA_RETURN_IF_ERROR(
          ReadTiming(b.value("latency", json()), where + ".decode[].latency", &x.latency));
      p.decode.push_back(x);
    }
    result.push_back(std::move(p));
  }
  *out = std::move(result);
  return Status::Ok();
}

}  // namespace epara::allocator
