// Starting an in-process NodeAgent in a benchmark: Create + Start, or the error on stderr and exit
// status 1 (a benchmark without its nodes has nothing to measure); and the demo segmentation
// repository the serving benchmarks share. Header-only; its users link epara_node and epara_torch.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "models/demo_segmentation.h"
#include "node/node_agent.h"

namespace epara::bench {

inline std::unique_ptr<node::NodeAgent> StartNodeOrExit(const node::NodeConfig& config,
                                                        int http_threads,
                                                        backend::BackendRegistry* backends,
                                                        cluster::ClusterStore* store) {
  api::ServerOptions o;
  o.http.threads = http_threads;
  std::unique_ptr<node::NodeAgent> a;
  Status s = node::NodeAgent::Create(config, o, backends, &a, store);
  if (s.ok()) s = a->Start();
  if (!s.ok()) {
    std::fprintf(stderr, "node %s: %s\n", config.id.c_str(), s.ToString().c_str());
    std::exit(1);
  }
  return a;
}

// A model repository in the temp directory ("<tag>_<pid>") holding the demo UNet (seg-demo) at
// `size` x `size`, batches of up to 4 without queue delay, and a synthetic PNG scene of that size
// in *png; or the error on stderr and exit status 1. The caller removes the repository.
inline std::filesystem::path DemoSegmentationRepoOrExit(const std::string& tag, int size,
                                                        std::string* png,
                                                        models::DemoSegmentationOptions* used) {
  const std::filesystem::path repo =
      std::filesystem::temp_directory_path() / (tag + "_" + std::to_string(getpid()));
  models::DemoSegmentationOptions seg;
  seg.size = size;
  seg.max_batch_size = 4;
  seg.max_queue_delay_ms = 0;
  Status s = models::WriteDemoSegmentationModel(repo.string(), seg);
  if (s.ok()) s = EncodePng(SyntheticScene(size, size), png);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  if (used) *used = seg;
  return repo;
}

}  // namespace epara::bench
