// Starting an in-process NodeAgent in a benchmark: Create + Start, or the error on stderr and exit
// status 1 (a benchmark without its nodes has nothing to measure). Header-only; its users link
// epara_node.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>

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

}  // namespace epara::bench
