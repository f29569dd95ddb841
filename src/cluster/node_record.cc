#include "cluster/node_record.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace epara::cluster {
namespace {

using json = nlohmann::json;

// Reads `j[name]` as T; InvalidArgument naming `where.name` when absent or of another type.
template <typename T>
Status Field(const json& j, const char* name, const std::string& where, T* out) {
  auto it = j.find(name);
  if (it == j.end()) return InvalidArgument(where + name + " is missing");
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return InvalidArgument(where + name + " has the wrong type");
  }
  return Status::Ok();
}

}  // namespace

double NodeRecord::FastestGflops() const {
  double gflops = 0;
  for (const DeviceRecord& d : devices) gflops = std::max(gflops, d.speed_gflops);
  return gflops;
}

const InstanceRecord* NodeRecord::FindInstance(const std::string& model) const {
  for (const InstanceRecord& i : instances)
    if (i.model == model) return &i;
  for (const InstanceRecord& i : instances)
    if (!i.service.empty() && i.service == model) return &i;
  return nullptr;
}

std::string NodeKey(const std::string& id) { return std::string(kNodePrefix) + id; }

std::string NodeRecordToJson(const NodeRecord& r) {
  json devices = json::array();
  for (const DeviceRecord& d : r.devices)
    devices.push_back({{"id", d.id},
                       {"kind", d.kind},
                       {"memory_bytes", d.memory_bytes},
                       {"cpu_share", d.cpu_share},
                       {"speed_gflops", d.speed_gflops},
                       {"backends", d.backends}});
  json instances = json::array();
  for (const InstanceRecord& i : r.instances) {
    json ij = {{"model", i.model}, {"task", i.task}, {"slo_ms", i.slo_ms}};
    if (!i.service.empty()) ij["service"] = i.service;
    if (i.split > 1) ij["split"] = i.split;
    if (i.tpot_ms > 0) ij["tpot_ms"] = i.tpot_ms;
    if (!i.next.empty()) ij["pipeline"] = {{"end_layer", i.end_layer}, {"next", i.next}};
    instances.push_back(std::move(ij));
  }
  json stages = json::array();
  for (const StageRecord& st : r.stages)
    stages.push_back({{"model", st.model},
                      {"first_layer", st.first_layer},
                      {"end_layer", st.end_layer},
                      {"next", st.next}});
  return json{{"id", r.id},
              {"api_address", r.api_address},
              {"peer_address", r.peer_address},
              {"device_class", r.device_class},
              {"devices", devices},
              {"instances", instances},
              {"version", r.version},
              {"zone", r.zone},
              {"stages", stages},
              {"memory_used_bytes", r.memory_used_bytes}}
      .dump();
}

Status ParseNodeRecord(const std::string& text, NodeRecord* out) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("node record is not a JSON object");
  NodeRecord r;
  EPARA_RETURN_IF_ERROR(Field(j, "id", "node.", &r.id));
  if (r.id.empty()) return InvalidArgument("node.id is empty");
  EPARA_RETURN_IF_ERROR(Field(j, "api_address", "node.", &r.api_address));
  EPARA_RETURN_IF_ERROR(Field(j, "peer_address", "node.", &r.peer_address));
  EPARA_RETURN_IF_ERROR(Field(j, "device_class", "node.", &r.device_class));
  EPARA_RETURN_IF_ERROR(Field(j, "version", "node.", &r.version));
  if (auto z = j.find("zone"); z != j.end() && z->is_string()) r.zone = z->get<std::string>();
  json devices;
  EPARA_RETURN_IF_ERROR(Field(j, "devices", "node.", &devices));
  if (!devices.is_array()) return InvalidArgument("node.devices is not an array");
  for (size_t i = 0; i < devices.size(); ++i) {
    const json& d = devices[i];
    const std::string where = "node.devices[" + std::to_string(i) + "].";
    if (!d.is_object())
      return InvalidArgument(where.substr(0, where.size() - 1) + " is not an object");
    DeviceRecord dr;
    EPARA_RETURN_IF_ERROR(Field(d, "id", where, &dr.id));
    EPARA_RETURN_IF_ERROR(Field(d, "kind", where, &dr.kind));
    EPARA_RETURN_IF_ERROR(Field(d, "memory_bytes", where, &dr.memory_bytes));
    EPARA_RETURN_IF_ERROR(Field(d, "cpu_share", where, &dr.cpu_share));
    EPARA_RETURN_IF_ERROR(Field(d, "speed_gflops", where, &dr.speed_gflops));
    EPARA_RETURN_IF_ERROR(Field(d, "backends", where, &dr.backends));
    r.devices.push_back(std::move(dr));
  }
  // Optional: nodes that host nothing (yet) may leave it out.
  if (auto it = j.find("instances"); it != j.end()) {
    if (!it->is_array()) return InvalidArgument("node.instances is not an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& in = (*it)[i];
      const std::string where = "node.instances[" + std::to_string(i) + "].";
      if (!in.is_object())
        return InvalidArgument(where.substr(0, where.size() - 1) + " is not an object");
      InstanceRecord ir;
      EPARA_RETURN_IF_ERROR(Field(in, "model", where, &ir.model));
      if (ir.model.empty()) return InvalidArgument(where + "model is empty");
      EPARA_RETURN_IF_ERROR(Field(in, "task", where, &ir.task));
      EPARA_RETURN_IF_ERROR(Field(in, "slo_ms", where, &ir.slo_ms));
      if (in.contains("service")) EPARA_RETURN_IF_ERROR(Field(in, "service", where, &ir.service));
      if (in.contains("split")) EPARA_RETURN_IF_ERROR(Field(in, "split", where, &ir.split));
      if (in.contains("tpot_ms")) EPARA_RETURN_IF_ERROR(Field(in, "tpot_ms", where, &ir.tpot_ms));
      if (in.contains("pipeline")) {
        const json& p = in["pipeline"];
        if (!p.is_object()) return InvalidArgument(where + "pipeline is not an object");
        EPARA_RETURN_IF_ERROR(Field(p, "end_layer", where + "pipeline.", &ir.end_layer));
        EPARA_RETURN_IF_ERROR(Field(p, "next", where + "pipeline.", &ir.next));
      }
      r.instances.push_back(std::move(ir));
    }
  }
  // Optional (records of older nodes have neither).
  if (auto it = j.find("stages"); it != j.end()) {
    if (!it->is_array()) return InvalidArgument("node.stages is not an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& st = (*it)[i];
      const std::string where = "node.stages[" + std::to_string(i) + "].";
      if (!st.is_object())
        return InvalidArgument(where.substr(0, where.size() - 1) + " is not an object");
      StageRecord sr;
      EPARA_RETURN_IF_ERROR(Field(st, "model", where, &sr.model));
      EPARA_RETURN_IF_ERROR(Field(st, "first_layer", where, &sr.first_layer));
      EPARA_RETURN_IF_ERROR(Field(st, "end_layer", where, &sr.end_layer));
      EPARA_RETURN_IF_ERROR(Field(st, "next", where, &sr.next));
      r.stages.push_back(std::move(sr));
    }
  }
  if (j.contains("memory_used_bytes"))
    EPARA_RETURN_IF_ERROR(Field(j, "memory_used_bytes", "node.", &r.memory_used_bytes));
  *out = std::move(r);
  return Status::Ok();
}

}  // namespace epara::cluster
