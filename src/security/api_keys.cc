#include "security/api_keys.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "security/secrets.h"

namespace epara::security {
namespace {

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status ParseEntry(const YAML::Node& n, const std::string& where, ApiKey* k) {
  if (!n.IsMap()) return InvalidArgument(where + ": an entry must be a map");
  for (const auto& field : n) {
    if (!field.first.IsScalar()) return InvalidArgument(where + ": field names must be names");
    const std::string f = field.first.Scalar();
    if (f != "name" && f != "sha256" && f != "scopes" && f != "rate_per_s" && f != "burst")
      return InvalidArgument(where + ": unknown field '" + f + "'");
  }
  if (!n["name"] || n["name"].as<std::string>().empty())
    return InvalidArgument(where + ": 'name' is required");
  k->name = n["name"].as<std::string>();
  const std::string at = where + " (" + k->name + ")";
  if (!n["sha256"] || !IsSha256Hex(n["sha256"].as<std::string>()))
    return InvalidArgument(at + ": 'sha256' must be 64 lower-case hex digits");
  k->sha256 = n["sha256"].as<std::string>();
  k->scopes = 0;
  if (!n["scopes"]) {
    k->scopes = kScopeInfer;
  } else if (n["scopes"].IsSequence()) {
    for (const auto& s : n["scopes"]) {
      uint8_t one = 0;
      EPARA_RETURN_IF_ERROR(ParseScopes(s.as<std::string>(), &one).WithContext(at));
      k->scopes |= one;
    }
  } else {
    EPARA_RETURN_IF_ERROR(ParseScopes(n["scopes"].as<std::string>(), &k->scopes).WithContext(at));
  }
  if (k->scopes == 0) return InvalidArgument(at + ": 'scopes' is empty");
  k->rate_per_s = n["rate_per_s"] ? n["rate_per_s"].as<double>() : 0;
  if (k->rate_per_s < 0) return InvalidArgument(at + ": 'rate_per_s' must be >= 0");
  k->burst = n["burst"] ? n["burst"].as<double>() : std::max(1.0, k->rate_per_s);
  if (k->rate_per_s > 0 && k->burst < 1) return InvalidArgument(at + ": 'burst' must be >= 1");
  return Status::Ok();
}

}  // namespace

Status ParseScopes(std::string_view text, uint8_t* out) {
  *out = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view s = text.substr(start, end - start);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s == "infer")
      *out |= kScopeInfer;
    else if (s == "admin")
      *out |= kScopeAdmin;
    else
      return InvalidArgument("unknown scope '" + std::string(s) + "' (infer or admin)");
    start = end + 1;
  }
  return Status::Ok();
}

std::string ScopeNames(uint8_t scopes) {
  std::string out;
  if (scopes & kScopeInfer) out = "infer";
  if (scopes & kScopeAdmin) out += out.empty() ? "admin" : ",admin";
  return out;
}

Status KeyRing::Load(const std::string& path, KeyRing* out) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path, out);
}

Status KeyRing::Parse(const std::string& yaml, const std::string& source, KeyRing* out) {
  KeyRing ring;
  try {
    const YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) {
      *out = std::move(ring);
      return Status::Ok();
    }
    if (!root.IsMap() || !root["keys"])
      return InvalidArgument(source + ": expected a map with a 'keys' list");
    const YAML::Node keys = root["keys"];
    if (!keys.IsNull() && !keys.IsSequence())
      return InvalidArgument(source + ": 'keys' must be a list");
    std::unordered_map<std::string, bool> names;
    for (size_t i = 0; keys.IsSequence() && i < keys.size(); ++i) {
      ApiKey k;
      EPARA_RETURN_IF_ERROR(ParseEntry(keys[i], source + ": keys[" + std::to_string(i) + "]", &k));
      if (names.count(k.name))
        return InvalidArgument(source + ": key name '" + k.name + "' appears twice");
      if (ring.by_hash_.count(k.sha256))
        return InvalidArgument(source + ": keys '" + ring.by_hash_.at(k.sha256).name + "' and '" +
                               k.name + "' have the same hash");
      names[k.name] = true;
      ring.by_hash_[k.sha256] = std::move(k);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
  *out = std::move(ring);
  return Status::Ok();
}

const ApiKey* KeyRing::Find(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  auto it = by_hash_.find(Sha256Hex(presented));
  return it == by_hash_.end() ? nullptr : &it->second;
}

const ApiKey* KeyRing::FindSha256(const std::string& sha256) const {
  auto it = by_hash_.find(sha256);
  return it == by_hash_.end() ? nullptr : &it->second;
}

Status AppendKey(const std::string& path, const ApiKey& key) {
  YAML::Node root;
  if (std::filesystem::exists(path)) {
    KeyRing check;  // refuses a file that is not a key file before touching it
    EPARA_RETURN_IF_ERROR(KeyRing::Load(path, &check));
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
      return InvalidArgument(path + ": " + e.what());
    }
    for (const auto& k : root["keys"])
      if (k["name"].as<std::string>() == key.name)
        return InvalidArgument(path + ": a key named '" + key.name + "' exists");
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node entry;
  entry["name"] = key.name;
  entry["sha256"] = key.sha256;
  YAML::Node scopes(YAML::NodeType::Sequence);
  if (key.scopes & kScopeInfer) scopes.push_back("infer");
  if (key.scopes & kScopeAdmin) scopes.push_back("admin");
  entry["scopes"] = scopes;
  if (key.rate_per_s > 0) {
    entry["rate_per_s"] = key.rate_per_s;
    entry["burst"] = key.burst > 0 ? key.burst : std::max(1.0, key.rate_per_s);
  }
  root["keys"].push_back(entry);
  YAML::Emitter emit;
  emit << root;
  return WriteSecretFile(
      path,
      std::string("# epara API keys: SHA-256 hashes only (epara keys create)\n") + emit.c_str());
}

}  // namespace epara::security
