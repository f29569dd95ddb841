#include "api/llm_registry.h"

namespace epara::api {

const char* LlmStateName(LlmRegistry::State s) {
  switch (s) {
    case LlmRegistry::State::kReady:
      return "READY";
    case LlmRegistry::State::kDraining:
      return "DRAINING";
    case LlmRegistry::State::kUnloading:
      return "UNLOADING";
  }
  return "UNKNOWN";
}

LlmUse::LlmUse(LlmUse&& o) noexcept
    : registry_(o.registry_), name_(std::move(o.name_)), engine_(std::move(o.engine_)) {
  o.registry_ = nullptr;
}

LlmUse& LlmUse::operator=(LlmUse&& o) noexcept {
  if (this != &o) {
    Release();
    registry_ = o.registry_;
    name_ = std::move(o.name_);
    engine_ = std::move(o.engine_);
    o.registry_ = nullptr;
  }
  return *this;
}

LlmUse::~LlmUse() { Release(); }

void LlmUse::Release() {
  // The engine reference goes first: when the registry forgets the engine, the last reference
  // must be the registry's (Remove destroys it there, never on a request's thread mid-stream).
  engine_.reset();
  if (registry_) registry_->Release(name_);
  registry_ = nullptr;
}

LlmRegistry::~LlmRegistry() { ShutdownAll(); }

Status LlmRegistry::Add(const std::string& name, std::unique_ptr<llm::LlmEngine> engine,
                        double ttft_slo_ms, double tpot_slo_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.count(name)) return FailedPrecondition("LLM '" + name + "' is already loaded here");
  if (!series_.count(name)) series_.emplace(name, metrics::LlmMetrics::Create(metrics_, name));
  Entry& e = entries_[name];
  e.engine = std::shared_ptr<llm::LlmEngine>(std::move(engine));
  e.ttft_slo_ms = ttft_slo_ms;
  e.tpot_slo_ms = tpot_slo_ms;
  return Status::Ok();
}

LlmUse LlmRegistry::Use(const std::string& name, bool admitted, Status* why) {
  LlmUse use;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    if (why) *why = NotFound("model '" + name + "' not found (not an LLM served here)");
    return use;
  }
  if (it->second.state == State::kUnloading && !admitted) {
    if (why) *why = Unavailable("model '" + name + "' is being unloaded here");
    return use;
  }
  it->second.uses++;
  use.registry_ = this;
  use.name_ = name;
  use.engine_ = it->second.engine;
  return use;
}

void LlmRegistry::Release(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end() && --it->second.uses == 0) released_.notify_all();
}

Status LlmRegistry::Drain(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return NotFound("LLM '" + name + "' is not loaded here");
  if (it->second.state == State::kUnloading)
    return FailedPrecondition("LLM '" + name + "' is being unloaded");
  it->second.state = State::kDraining;
  return Status::Ok();
}

Status LlmRegistry::Remove(const std::string& name, int* waited_for) {
  std::shared_ptr<llm::LlmEngine> engine;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return NotFound("LLM '" + name + "' is not loaded here");
    if (it->second.state == State::kUnloading)
      return FailedPrecondition("LLM '" + name + "' is already being unloaded");
    it->second.state = State::kUnloading;
    if (waited_for) *waited_for = it->second.uses;
    // Every use ends: a request's use lasts until its answer (a stream's until its last event).
    released_.wait(lock, [&] { return entries_.at(name).uses == 0; });
    engine = std::move(entries_.at(name).engine);
    entries_.erase(name);
  }
  engine->Shutdown();  // nothing is left in it; joins its worker here, on this thread
  return Status::Ok();
}

void LlmRegistry::ShutdownAll() {
  std::vector<std::shared_ptr<llm::LlmEngine>> engines;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [_, e] : entries_) engines.push_back(e.engine);
  }
  for (auto& e : engines) e->Shutdown();
}

std::vector<LlmRegistry::Info> LlmRegistry::List(bool include_draining) const {
  std::vector<Info> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, e] : entries_)
    if (e.state == State::kReady || (include_draining && e.state == State::kDraining))
      out.push_back({name, e.state, e.ttft_slo_ms, e.tpot_slo_ms, e.engine});
  return out;
}

bool LlmRegistry::Has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  return it != entries_.end() && it->second.state != State::kUnloading;
}

std::optional<LlmRegistry::Info> LlmRegistry::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  return Info{name, e.state, e.ttft_slo_ms, e.tpot_slo_ms, e.engine};
}

const metrics::LlmMetrics* LlmRegistry::Metrics(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(name);
  return it == series_.end() ? nullptr : &it->second;
}

}  // namespace epara::api
