#include "cluster/etcd_json.h"

#include <charconv>

#include "core/base64.h"

namespace epara::cluster::etcd_json {

using json = nlohmann::json;

int64_t Int64Field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return 0;
  const std::string& s = it->get_ref<const std::string&>();
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // etcd: range_end "\0" means every key >= key
}

Status StatusFromGrpc(int64_t code, const std::string& message) {
  const std::string& m = message;
  switch (code) {
    case 3:   // INVALID_ARGUMENT
    case 11:  // OUT_OF_RANGE
      return Status(StatusCode::kInvalidArgument, m);
    case 5:  // NOT_FOUND
      return Status(StatusCode::kNotFound, m);
    case 9:  // FAILED_PRECONDITION
      return Status(StatusCode::kFailedPrecondition, m);
    case 4:  // DEADLINE_EXCEEDED
      return Status(StatusCode::kDeadlineExceeded, m);
    case 8:  // RESOURCE_EXHAUSTED
      return Status(StatusCode::kResourceExhausted, m);
    case 14:  // UNAVAILABLE
      return Status(StatusCode::kUnavailable, m);
    case 16:  // UNAUTHENTICATED
      return Status(StatusCode::kUnauthenticated, m);
    case 7:  // PERMISSION_DENIED
      return Status(StatusCode::kPermissionDenied, m);
    default:
      return Status(StatusCode::kInternal, m);
  }
}

Status DecodeKv(const json& j, KeyValue* out) {
  if (!j.is_object()) return Status(StatusCode::kInternal, "etcd: key-value is not an object");
  std::string key, value;
  const auto text = [&](const char* name) -> std::string {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (Status s = Base64Decode(text("key"), &key); !s.ok())
    return Status(StatusCode::kInternal, "etcd: key " + s.message());
  if (Status s = Base64Decode(text("value"), &value); !s.ok())
    return Status(StatusCode::kInternal, "etcd: value " + s.message());
  out->key = std::move(key);
  out->value = std::move(value);
  out->mod_revision = Int64Field(j, "mod_revision");
  out->lease = Int64Field(j, "lease");
  return Status::Ok();
}

json EncodeKv(const KeyValue& kv) {
  json j = {{"key", Base64Encode(kv.key)}, {"mod_revision", std::to_string(kv.mod_revision)}};
  if (!kv.value.empty()) j["value"] = Base64Encode(kv.value);
  if (kv.lease != kNoLease) j["lease"] = std::to_string(kv.lease);
  return j;
}

int GrpcCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kPayloadTooLarge:
      return 3;
    case StatusCode::kNotFound:
      return 5;
    case StatusCode::kFailedPrecondition:
      return 9;
    case StatusCode::kDeadlineExceeded:
      return 4;
    case StatusCode::kResourceExhausted:
      return 8;
    case StatusCode::kUnavailable:
      return 14;
    case StatusCode::kCancelled:
      return 1;
    case StatusCode::kUnimplemented:
      return 12;
    case StatusCode::kUnauthenticated:
      return 16;
    case StatusCode::kPermissionDenied:
      return 7;
    default:
      return 13;
  }
}

}  // namespace epara::cluster::etcd_json
