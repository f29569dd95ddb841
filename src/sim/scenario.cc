#include "sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "llm/llama_config.h"
#include "node/cluster_plan.h"
#include "sim/hash.h"

namespace epara::sim {

Status BuildSimSpec(const node::ClusterConfig& config, const std::vector<ModelDescriptor>& models,
                    const std::vector<node::ModelFootprint>& footprints,
                    const std::vector<allocator::Profile>& profiles, const SimOptions& options,
                    const std::set<std::string>& needed, SimSpec* out) {
  *out = SimSpec{};
  out->options = options;
  out->profiles = profiles;
  if (config.nodes.empty()) return InvalidArgument("the cluster has no nodes");
  double reference_gflops = 0;
  for (const allocator::Profile& p : profiles)
    reference_gflops = std::max(reference_gflops, p.speed_gflops);
  if (reference_gflops <= 0) reference_gflops = 1;
  std::set<std::string> used;
  for (const node::NodeConfig& n : config.nodes) {
    SimNodeSpec s;
    s.id = n.id;
    s.device_class = n.device_class;
    const node::DeviceConfig d = n.devices.empty() ? node::DeviceConfig{} : n.devices[0];
    s.speed = d.cpu_quota;
    s.gflops = reference_gflops * d.cpu_quota;
    s.memory_bytes = d.memory_mb << 20;
    s.serve = n.serve_models;
    if (s.serve.empty())
      for (const ModelDescriptor& m : models) s.serve.push_back(m.name);
    s.serve.erase(std::remove_if(s.serve.begin(), s.serve.end(),
                                 [&](const std::string& m) {
                                   // a later pipeline stage holds layers, not the service
                                   auto p = n.pipeline.find(m);
                                   return (p != n.pipeline.end() && p->second.stage > 0) ||
                                          !needed.count(m);
                                 }),
                  s.serve.end());
    used.insert(s.serve.begin(), s.serve.end());
    s.batching = n.batching;
    s.split = n.split;
    s.split_fit = n.split_fit;
    for (const auto& [model, p] : n.pipeline)
      s.pipeline[model] = SimStage{p.stage, p.first_layer, p.end_layer, p.next, p.depth};
    s.routing = n.routing;
    s.route_peers = n.route_peers;
    s.admission = n.admission;
    s.admission_slo_share = n.admission_slo_share;
    s.admission_adaptive = n.admission_adaptive;
    out->nodes.push_back(std::move(s));
  }
  const node::NodeConfig& first = config.nodes.front();
  out->options.sync_interval_ms = static_cast<double>(first.sync_interval.count());
  out->options.down_after_ms = static_cast<double>(first.down_after.count());
  out->options.controller_period_s = config.controller_period_s;
  out->options.burst_headroom = config.controller_burst_headroom;
  out->options.twin = options.twin || config.controller_twin;
  out->options.llm_modes = config.controller_llm_modes;
  out->options.llm_expand = config.controller_llm_expand;
  for (const ModelDescriptor& d : models) {
    // Every model asked for is simulated, served somewhere or not (requests for one that no node
    // holds are answered 404, as a real cluster answers them).
    if (!used.count(d.name) && !needed.count(d.name)) continue;
    SimModel m;
    m.name = d.name;
    m.llm = d.task == TaskType::kLlm;
    m.slo_ms = m.llm ? d.slo.ttft_ms : d.slo.latency_ms;
    m.tpot_ms = m.llm ? d.slo.tpot_ms : 0;
    m.batching = d.batching;
    if (d.preprocess) {
      m.width = d.preprocess->width;
      m.height = d.preprocess->height;
      // FP32 input channels there, logits back: [C, H, W] in, [K, H, W] out.
      int64_t channels = 3;
      if (!d.outputs.empty() && d.outputs[0].dims.size() >= 3) channels += d.outputs[0].dims[0];
      m.tile_bytes_per_pixel = 4 * channels;
    }
    for (const node::ModelFootprint& f : footprints)
      if (f.name == d.name) m.memory_bytes = f.bytes;
    const allocator::Profile* p = nullptr;
    for (const allocator::Profile& x : profiles)
      if (x.model == d.name) p = &x;
    if (!p)
      return NotFound("no profile for model '" + d.name + "': run `epara profile --model " +
                      d.name + "` and pass --profiles");
    EPARA_RETURN_IF_ERROR(CostFromProfile(*p, 1, &m.cost));
    m.profile_solo_ms = p->ForCategorizer().solo_ms;
    m.profile_gflops = p->speed_gflops;
    if (m.llm) {
      llm::LlamaConfig c;
      EPARA_RETURN_IF_ERROR(llm::LoadLlamaConfig(d.directory + "/config.json", &c));
      m.limits.kv_bytes_per_token =
          int64_t{2} * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * 4;
      m.limits.kv_budget_bytes = int64_t{d.llm.kv_cache_mb} << 20;
      m.limits.token_budget = d.llm.token_budget;
      m.limits.max_running = d.llm.max_running;
      m.max_waiting = d.llm.max_waiting;
      m.layers = c.num_hidden_layers;
      const node::LlmShape shape = node::LlmShapeOf(c, d.llm.kv_cache_mb);
      m.llm_size = {shape.layers, shape.layer_bytes, shape.head_bytes, shape.tail_bytes};
      m.hidden_bytes_per_token = int64_t{4} * c.hidden_size;
      m.logit_bytes_per_row = int64_t{4} * c.vocab_size;
    }
    out->models.push_back(std::move(m));
  }
  return Status::Ok();
}

Status ScaleCluster(const node::ClusterConfig& base, const ScaleOptions& scale,
                    const std::vector<std::string>& services, node::ClusterConfig* config,
                    std::vector<ModelDescriptor>* models,
                    std::vector<node::ModelFootprint>* footprints,
                    std::vector<allocator::Profile>* profiles) {
  if (base.nodes.empty()) return InvalidArgument("the base cluster has no nodes");
  double total = 0;
  for (const auto& [cls, share] : scale.mix) total += std::max(0.0, share);
  if (total <= 0) return InvalidArgument("--mix: no device class has a positive share");
  *config = base;
  config->nodes.clear();
  config->pipelines.clear();
  // Replicated services.
  std::vector<std::string> names;
  if (scale.copies > 1) {
    std::vector<ModelDescriptor> m2;
    std::vector<node::ModelFootprint> f2;
    std::vector<allocator::Profile> p2;
    for (const std::string& s : services)
      for (int k = 0; k < scale.copies; ++k) {
        const std::string name = s + "-" + std::to_string(k);
        names.push_back(name);
        for (const ModelDescriptor& d : *models)
          if (d.name == s) {
            m2.push_back(d);
            m2.back().name = name;
          }
        for (const node::ModelFootprint& f : *footprints)
          if (f.name == s) {
            f2.push_back(f);
            f2.back().name = name;
          }
        for (const allocator::Profile& p : *profiles)
          if (p.model == s) {
            p2.push_back(p);
            p2.back().model = name;
          }
      }
    *models = std::move(m2);
    *footprints = std::move(f2);
    *profiles = std::move(p2);
  } else {
    names = services;
  }
  // Nodes by class: largest remainder so the counts add up to `nodes`.
  std::vector<std::pair<std::string, int>> counts;
  int assigned = 0;
  for (const auto& [cls, share] : scale.mix) {
    const int c = static_cast<int>(std::floor(scale.nodes * std::max(0.0, share) / total));
    counts.emplace_back(cls, c);
    assigned += c;
  }
  for (size_t i = 0; assigned < scale.nodes; i = (i + 1) % counts.size(), ++assigned)
    counts[i].second++;
  std::vector<node::DeviceClassProfile> classes;
  for (const auto& [cls, count] : counts) {
    node::DeviceClassProfile p;
    if (Status s = node::FindDeviceClass(cls, &p); !s.ok())
      return InvalidArgument("--mix: " + s.message());
    classes.push_back(p);
  }
  // Interleave the classes (each position takes the class furthest behind its share), then deal
  // the services in turn over each zone's nodes.
  const int per = std::min<int>(scale.serve_per_node, static_cast<int>(names.size()));
  std::vector<int> made(counts.size(), 0);
  for (int k = 0; k < scale.nodes; ++k) {
    size_t c = 0;
    double behind = -1e300;
    for (size_t x = 0; x < counts.size(); ++x) {
      if (made[x] >= counts[x].second) continue;
      const double d = double(counts[x].second) * (k + 1) / scale.nodes - made[x];
      if (d > behind) {
        behind = d;
        c = x;
      }
    }
    const node::DeviceClassProfile& p = classes[c];
    node::NodeConfig n = base.nodes.front();
    // Short ids (fit std::string's inline buffer: routing copies them per candidate).
    const std::string& cls = counts[c].first;
    const std::string prefix = cls == "edge-server"     ? "edge"
                               : cls == "embedded"      ? "board"
                               : cls == "microcomputer" ? "micro"
                                                        : cls;
    n.id = prefix + "-" + std::to_string(++made[c]);
    n.device_class = counts[c].first;
    n.pipeline.clear();
    n.devices.assign(
        1, node::DeviceConfig{"cpu", "cpu", std::max(1, p.cpu_threads), p.memory_mb, p.cpu_quota});
    n.serve_models.clear();
    const size_t position =  // within its zone (zones are runs of zone_size nodes)
        scale.zone_size > 0 ? static_cast<size_t>(k % scale.zone_size) : static_cast<size_t>(k);
    for (int t = 0; t < per; ++t)
      n.serve_models.push_back(names[(position * per + t) % names.size()]);
    config->nodes.push_back(std::move(n));
  }
  return Status::Ok();
}

void SpreadOverScaledCluster(const ScaleOptions& scale, const node::ClusterConfig& config,
                             bool generated, bool uniform_ingress,
                             std::vector<loadgen::ScheduledRequest>* schedule) {
  const size_t copies = static_cast<size_t>(std::max(1, scale.copies));
  const size_t n = config.nodes.size();
  const size_t stride = uniform_ingress ? 1 : copies;
  const size_t slots = std::max<size_t>(1, n / stride);
  for (size_t k = 0; k < schedule->size(); ++k) {
    loadgen::ScheduledRequest& r = (*schedule)[k];
    const uint64_t h = Mix64(scale.seed * 1000003u + k);
    const size_t copy = h % copies;
    r.service = static_cast<int>(r.service * copies + copy);
    if (generated)
      r.ingress = config.nodes[(uniform_ingress ? 0 : copy) + stride * ((h >> 20) % slots)].id;
  }
}

}  // namespace epara::sim
