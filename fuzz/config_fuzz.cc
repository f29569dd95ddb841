// libFuzzer harness (issue 27): the text formats a user or the cluster hands epara. The first
// byte picks the parser, the rest is its input:
//   0 model.yaml (ParseModelDescriptor)    1 node.yaml (ParseNodeConfig)
//   2 cluster.yaml (ParseClusterConfig)    3 workload files (ParseWorkloadSpec)
//   4 a checkpoint's config.json (ParseLlamaConfig)
//   5 a node record in the cluster store (ParseNodeRecord: JSON any store client can write)
//   6 an Azure LLM trace (ParseAzureTrace: CSV)
// Parsers that name files relative to a base directory get a directory that does not exist, so
// nothing is read from disk.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/node_record.h"
#include "llm/llama_config.h"
#include "loadgen/workload_spec.h"
#include "node/cluster_config.h"
#include "node/node_config.h"
#include "repo/model_descriptor.h"
#include "workload/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string nowhere = "/nonexistent/epara-fuzz";
  switch (data[0] % 7) {
    case 0: {
      epara::ModelDescriptor d;
      (void)epara::ParseModelDescriptor(text, "model.yaml", nowhere, &d);
      break;
    }
    case 1: {
      epara::node::NodeConfig c;
      (void)epara::node::ParseNodeConfig(text, "node.yaml", &c);
      break;
    }
    case 2: {
      epara::node::ClusterConfig c;
      (void)epara::node::ParseClusterConfig(text, "cluster.yaml", nowhere, 2379, &c);
      break;
    }
    case 3: {
      epara::loadgen::WorkloadSpec w;
      (void)epara::loadgen::ParseWorkloadSpec(text, "workload.yaml", nowhere, &w);
      break;
    }
    case 4: {
      epara::llm::LlamaConfig c;
      (void)epara::llm::ParseLlamaConfig(text, "config.json", &c);
      break;
    }
    case 5: {
      epara::cluster::NodeRecord r;
      (void)epara::cluster::ParseNodeRecord(text, &r);
      break;
    }
    case 6: {
      std::vector<epara::workload::TraceRequest> t;
      (void)epara::workload::ParseAzureTrace(text, "trace.csv", &t);
      break;
    }
  }
  return 0;
}
