// etcd v3's JSON gateway encoding (proto3 JSON: int64 as strings, bytes as base64), shared by the
// client (EtcdStore) and epara's own server of that protocol (StoreGateway).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cluster/cluster_store.h"

namespace epara::cluster::etcd_json {

// An int64 field written as a string or a number; 0 when absent or malformed.
int64_t Int64Field(const nlohmann::json& j, const char* name);

// The key just past every key starting with `prefix` (etcd's range_end for a prefix query);
// "\0" (every key) when the prefix is empty or all 0xff bytes.
std::string PrefixEnd(std::string prefix);

// A KeyValue as etcd's mvccpb.KeyValue JSON, and back (Internal for undecodable base64).
nlohmann::json EncodeKv(const KeyValue& kv);
Status DecodeKv(const nlohmann::json& j, KeyValue* out);

// gRPC status codes (as etcd's error bodies carry them) to and from epara's.
Status StatusFromGrpc(int64_t code, const std::string& message);
int GrpcCodeFor(StatusCode code);

}  // namespace epara::cluster::etcd_json
