// Judging a finished request against its service's SLO (issue 26: the dashboard's live SLO
// attainment). Pure functions: the node agent calls them for every request that entered the
// cluster through it (node_agent.cc ObserveRequest) and records the verdict in its
// metrics::SloWindow.
#pragma once

#include <cstdint>
#include <string>

namespace epara::node {

// The model an inference request names: /v2/models/{m}[/versions/{v}]/infer and
// /v1/segment/{m} by path, /v1/completions and /v1/chat/completions by the body's "model".
// Empty for any other request (or a body that is not a JSON object with a string "model").
std::string InferenceModelOf(const std::string& method, const std::string& path,
                             const std::string& body);

// The string value of `key` at the top level of the JSON object `body`, read without building the
// document (a SAX pass that stops at the value): empty when `body` is not an object that reaches
// a string `key` before any syntax error. Bytes after the value are not checked (the route that
// answers the request does).
std::string TopLevelJsonString(const std::string& body, const std::string& key);

struct ServiceSlo {
  bool llm = false;
  double slo_ms = 0;   // end to end (vision/tensor) or time to first token (LLM); 0: none
  double tpot_ms = 0;  // LLM: time per output token; 0: none or unknown here
};

struct ResponseTiming {
  int status = 200;
  double e2e_ms = 0;              // until the last byte was handed to the connection
  bool stream = false;            // a streamed (chunked) answer
  double first_chunk_ms = -1;     // streams: until the first chunk (-1: none was sent)
  int chunks = 0;                 // streams: chunks written
  int64_t completion_tokens = 0;  // a whole LLM answer's usage.completion_tokens (0: unknown)
};

struct Verdict {
  bool ok = false;        // a 2xx answer
  bool met = false;       // ok and within the SLO
  double latency_ms = 0;  // what the SLO judged: first chunk for a stream, else end to end
};

// - vision/tensor: met when e2e <= slo_ms;
// - an LLM stream: met when the first chunk came within slo_ms (TTFT) and, with tpot_ms, the
//   chunks after it came on average within tpot_ms (one chunk per token; the last chunk is the
//   stream's end marker);
// - a whole LLM answer: met when e2e <= slo_ms + tpot_ms x (completion_tokens - 1).
// No SLO: every 2xx answer meets it.
Verdict JudgeOutcome(const ServiceSlo& slo, const ResponseTiming& t);

}  // namespace epara::node
