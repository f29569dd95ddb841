// `epara controller --store host:port [--period-s 10] [--once] [--profiles profiles.json]`: the
// state-aware scheduler for a cluster whose nodes share an etcd (`epara up` embeds the same loop
// when its cluster file has `controller:`). See src/controller/controller.h.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <fstream>

#include "cli/commands.h"
#include "cli/credential_flags.h"
#include "cli/process_support.h"
#include "cluster/etcd_store.h"
#include "controller/controller.h"

namespace epara::cli {
namespace {

struct ControllerFlags {
  std::string store = "127.0.0.1:2379";
  std::string profiles;
  double period_s = 10;
  int grace_ms = -1;
  double burst_headroom = 1.0;
  bool once = false;
  std::string id;
  std::string token_file;
  bool store_credential = false;
  std::string store_ca, store_cert, store_key;
};

int RunController(const ControllerFlags& f) {
  cluster::EtcdStoreOptions so;
  if (Status s = cluster::ParseEtcdEndpoints(f.store, &so); !s.ok()) {
    spdlog::error("--store: {}", s.message());
    return 2;
  }
  std::string credential;
  if (!ReadCredential(f.token_file, &credential)) return 2;
  if (f.store_credential && credential.empty()) {
    spdlog::error("--store-credential needs --token-file");
    return 2;
  }
  if (f.store_credential) so.bearer = credential;
  so.tls_ca = f.store_ca;
  so.tls_cert = f.store_cert;
  so.tls_key = f.store_key;
  if (so.tls_ca.empty() != so.tls_cert.empty() || so.tls_cert.empty() != so.tls_key.empty()) {
    spdlog::error("--store-ca, --store-cert and --store-key go together");
    return 2;
  }
  std::unique_ptr<cluster::EtcdStore> store;
  if (Status s = cluster::EtcdStore::Connect(so, &store); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  controller::ControllerOptions co;
  co.period = std::chrono::milliseconds(static_cast<int64_t>(f.period_s * 1000));
  co.grace_ms = f.grace_ms;
  co.burst_headroom = f.burst_headroom;
  co.credential = credential;
  co.log = [](const std::string& line) { spdlog::info("{}", line); };
  co.elect = true;  // standby controllers may run beside this one
  co.identity = f.id.empty() ? "controller-" + std::to_string(getpid()) : f.id;
  if (!f.profiles.empty()) {
    std::ifstream in(f.profiles);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (Status s = allocator::ParseProfiles(text, &co.profiles); !s.ok()) {
      spdlog::error("{}: {}", f.profiles, s.ToString());
      return 2;
    }
  }
  controller::Controller ctl(store.get(), std::move(co));
  if (f.once) {
    int moves = 0;
    Status s = ctl.Step(&moves);
    if (!s.ok()) spdlog::error("{}", s.ToString());
    spdlog::info("one period: {} step(s)", moves);
    return s.ok() ? 0 : 1;
  }
  const sigset_t signals = BlockStopSignals();
  ctl.Start();
  spdlog::info("controller: re-placing services every {:.1f} s; Ctrl-C stops it", f.period_s);
  WaitForStopSignal(signals);
  ctl.Stop();
  return 0;
}

}  // namespace

void RegisterControllerCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ControllerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "controller", "Re-place services periodically to maximize goodput (state-aware scheduler)");
  cmd->add_option(
         "--store", f->store,
         "The cluster's etcd, host:port[,host:port...]: every member, to fail over between")
      ->capture_default_str();
  cmd->add_option("--period-s", f->period_s, "Seconds between placements")->capture_default_str();
  cmd->add_option("--grace-ms", f->grace_ms, "Unload grace period (default: the nodes')");
  cmd->add_option("--burst-headroom", f->burst_headroom,
                  "Demand placed = mean + this many standard deviations between periods")
      ->capture_default_str();
  cmd->add_option("--profiles", f->profiles, "Profiles from epara profile --out (optional)");
  cmd->add_flag("--once", f->once, "Run one period and exit (no election)");
  cmd->add_option("--id", f->id, "This controller's name in the election (default: by pid)");
  AddTokenFileOption(cmd, &f->token_file);
  cmd->add_flag("--store-credential", f->store_credential,
                "Present the cluster credential to the store (epara up's store gateway)");
  cmd->add_option("--store-ca", f->store_ca, "etcd over TLS: the CA of etcd's certificate (PEM)");
  cmd->add_option("--store-cert", f->store_cert, "etcd over TLS: this client's certificate (PEM)");
  cmd->add_option("--store-key", f->store_key, "etcd over TLS: this client's key (PEM)");
  cmd->callback([f, exit_code] { *exit_code = RunController(*f); });
}

}  // namespace epara::cli
