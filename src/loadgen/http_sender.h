// Sends one scheduled request of a workload to its ingress node over HTTP and measures it, for
// `epara bench` (issue 7). Thread-safe: every call opens its own connection (loopback; a real
// client population opens many too), so concurrent requests never wait for each other here.
//
//   segmentation  POST /v1/segment/{model}?format=json with a PNG of the scheduled size
//                 (synthetic scenes, encoded once per size); ok = HTTP 200.
//   llm           POST /v1/completions {prompt of prompt_tokens bytes, max_tokens =
//                 output_tokens, ignore_eos, temperature 0, stream, include_usage}; TTFT = the
//                 first chunk with text, TPOT = (last - first) / (usage tokens - 1); ok = HTTP
//                 200, no error event, and usage reports every token.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "loadgen/open_loop.h"
#include "loadgen/workload_spec.h"

namespace epara::loadgen {

class HttpSender {
 public:
  // `ports`: node id -> API port on 127.0.0.1. Encodes the workload's images.
  static Status Create(const WorkloadSpec& spec, std::map<std::string, int> ports,
                       std::unique_ptr<HttpSender>* out);
  SendOutcome Send(const ScheduledRequest& r) const;
  double timeout_s = 120;  // one request, end to end (a stream is cut after it: a miss)

 private:
  HttpSender(const WorkloadSpec& spec, std::map<std::string, int> ports);
  const WorkloadSpec& spec_;
  std::map<std::string, int> ports_;
  std::map<int, std::string> png_;  // by side
};

}  // namespace epara::loadgen
