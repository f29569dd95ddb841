// Service profiles (issue 5): what the profiler measured for one service on one device class,
// read by the categorizer, the request handler and (later) the scheduler. Plain data + JSON.
//
// Every timing is the median of `repeats` runs, with the min and max so that consumers see the
// spread (`spread` = (max - min) / median).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "allocator/categorizer.h"
#include "core/status.h"

namespace epara::allocator {

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double spread() const { return median_ms > 0 ? (max_ms - min_ms) / median_ms : 0; }
};

struct BatchPoint {  // vision/tensor: one batch of `batch` requests with `threads` intra-op threads
  int threads = 1;
  int batch = 1;
  Timing latency;
};

struct PrefillPoint {  // LLM: one prompt of `tokens` tokens
  int tokens = 0;
  Timing latency;
};

struct DecodePoint {  // LLM: one decode step of `batch` sequences
  int batch = 1;
  Timing latency;
};

struct Profile {
  std::string model;
  std::string task;  // "segmentation" | "tensor" | "llm"
  // The engine that ran it ("libtorch", "onnxruntime", "epara-llm"). A model name has one engine
  // (its descriptor's backend), so (model, device class) keys a profile per (model, engine,
  // device); variants of a service on other engines are other models (ModelDescriptor::variant).
  std::string engine;
  std::string device_class;  // where it was measured ("edge-server", or the host's label)
  int64_t memory_bytes = 0;  // one instance (LLM: weights + its KV-cache budget)
  // The measuring host's device micro-benchmark (backend/device_probe.h) with the most threads
  // profiled: another device's time is about these times speed_gflops / its own.
  double speed_gflops = 0;
  int repeats = 0;
  std::vector<BatchPoint> batches;
  std::vector<PrefillPoint> prefill;
  std::vector<DecodePoint> decode;

  // The categorizer's view: batch-1 latency with the most threads measured (LLM: the prefill of
  // the shortest prompt measured), and the footprint.
  ServiceProfile ForCategorizer() const;
};

// Where profiles live in the cluster store: kProfilePrefix + "<device class>/<model>", each value
// ProfilesToJson({profile}).
inline constexpr const char* kProfilePrefix = "/epara/profiles/";
std::string ProfileKey(const Profile& p);

std::string ProfilesToJson(const std::vector<Profile>& profiles);
// InvalidArgument naming the field on malformed input.
Status ParseProfiles(const std::string& json, std::vector<Profile>* out);

// Median, min and max of `samples_ms` (not empty).
Timing Summarize(std::vector<double> samples_ms);

}  // namespace epara::allocator
