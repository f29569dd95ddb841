// `epara profile --models DIR --out profiles.json [--store host:port]`: measures every model of a
// repository on this host (src/profiler/profiler.h) and writes the profiles as JSON, and into the
// cluster store under /epara/profiles/<device class>/<model> when --store is given.
#include <spdlog/spdlog.h>

#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "cli/credential_flags.h"
#include "cli/process_support.h"
#include "cluster/etcd_store.h"
#include "profiler/profiler.h"
#include "repo/model_repository.h"

namespace epara::cli {
namespace {

struct ProfileFlags {
  std::string models;
  std::vector<std::string> only;
  std::string out;
  std::string store;
  std::string token_file;  // the cluster credential, presented to the store (epara up's gateway)
  profiler::ProfilerOptions options;
};

int RunProfile(const ProfileFlags& f) {
  RepositoryScan scan;
  if (Status s = ScanModelRepository(f.models, &scan); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  for (const Status& e : scan.errors) spdlog::warn("skipped: {}", e.message());
  backend::BackendRegistry backends;
  if (!RegisterBackends(&backends)) return 1;
  std::vector<allocator::Profile> profiles;
  for (const ModelDescriptor& d : scan.models) {
    if (!f.only.empty() && std::find(f.only.begin(), f.only.end(), d.name) == f.only.end())
      continue;
    allocator::Profile p;
    if (Status s = profiler::ProfileModel(d, &backends, f.options, &p); !s.ok()) {
      spdlog::warn("model {}: not profiled: {}", d.name, s.ToString());
      continue;
    }
    for (const auto& b : p.batches)
      spdlog::info("{}: {} threads, batch {}: {:.2f} ms (min {:.2f}, max {:.2f}, spread {:.0f}%)",
                   p.model, b.threads, b.batch, b.latency.median_ms, b.latency.min_ms,
                   b.latency.max_ms, 100 * b.latency.spread());
    for (const auto& x : p.prefill)
      spdlog::info("{}: prefill {} tokens: {:.2f} ms (spread {:.0f}%)", p.model, x.tokens,
                   x.latency.median_ms, 100 * x.latency.spread());
    for (const auto& x : p.decode)
      spdlog::info("{}: decode step, batch {}: {:.2f} ms (spread {:.0f}%)", p.model, x.batch,
                   x.latency.median_ms, 100 * x.latency.spread());
    spdlog::info("{}: {:.1f} MB per instance", p.model, p.memory_bytes / 1048576.0);
    profiles.push_back(std::move(p));
  }
  const std::string json = allocator::ProfilesToJson(profiles);
  if (!f.out.empty()) {
    std::ofstream(f.out) << json << "\n";
    spdlog::info("wrote {} profiles to {}", profiles.size(), f.out);
  }
  if (!f.store.empty()) {
    cluster::EtcdStoreOptions o;
    if (Status s = cluster::ParseEtcdEndpoints(
            f.store.find(':') == std::string::npos ? f.store + ":2379" : f.store, &o);
        !s.ok()) {
      spdlog::error("--store: {}", s.message());
      return 2;
    }
    if (!ReadCredential(f.token_file, &o.bearer)) return 2;
    std::unique_ptr<cluster::EtcdStore> store;
    if (Status s = cluster::EtcdStore::Connect(o, &store); !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    for (const allocator::Profile& p : profiles) {
      const std::string key = allocator::ProfileKey(p);
      if (Status s = store->Put(key, allocator::ProfilesToJson({p}), cluster::kNoLease); !s.ok()) {
        spdlog::error("{}: {}", key, s.ToString());
        return 1;
      }
    }
    spdlog::info("stored {} profiles under {}{}/", profiles.size(), allocator::kProfilePrefix,
                 f.options.device_class);
  }
  return profiles.empty() ? 1 : 0;
}

}  // namespace

void RegisterProfileCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ProfileFlags>();
  f->options.threads = {1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  CLI::App* cmd = app.add_subcommand("profile", "Measure the models of a repository on this host");
  cmd->add_option("--models", f->models, "Model repository folder")->required();
  cmd->add_option("--model", f->only, "Only these models (repeatable)");
  cmd->add_option("--out", f->out, "Write the profiles (JSON) here");
  cmd->add_option("--store", f->store, "Also store them in the cluster store at host:port");
  AddTokenFileOption(cmd, &f->token_file);
  cmd->add_option("--repeats", f->options.repeats, "Runs per measured point")
      ->capture_default_str();
  cmd->add_option("--threads", f->options.threads, "Intra-op thread counts")->capture_default_str();
  cmd->add_option("--batches", f->options.batches, "Batch sizes (vision, tensor)")
      ->capture_default_str();
  cmd->add_option("--prompt-tokens", f->options.prompt_tokens, "Prompt lengths (LLM prefill)")
      ->capture_default_str();
  cmd->add_option("--decode-batches", f->options.decode_batches, "Sequences per decode step (LLM)")
      ->capture_default_str();
  cmd->add_option("--device-class", f->options.device_class, "Label the profiles are stored under")
      ->capture_default_str();
  cmd->callback([f, exit_code] { *exit_code = RunProfile(*f); });
}

}  // namespace epara::cli
