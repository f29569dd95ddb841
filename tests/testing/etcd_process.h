// Test helper: a real single-member etcd on free loopback ports with a temporary data directory,
// started and stopped by PID. Tests that need one skip when etcd is not installed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "testing/child_process.h"

namespace epara::testing {

// The etcd binary: $EPARA_ETCD if set, else /usr/bin/etcd; "" when neither exists.
std::string FindEtcd();

class EtcdProcess {
 public:
  EtcdProcess() = default;
  ~EtcdProcess();  // stops etcd and removes its data directory

  // PEM files for etcd over TLS: its certificate and key (naming 127.0.0.1), and the CA that
  // client certificates must chain to (--client-cert-auth).
  struct Tls {
    std::string ca, cert, key;
  };

  // Starts etcd and waits (bounded, 20 s) until it answers GET /version. Its minimum lease TTL is
  // 1 s (heartbeat 10 ms, election timeout 100 ms). With `tls`, clients reach it over HTTPS with a
  // client certificate (the readiness check presents `tls`'s own pair). False with the reason
  // (and etcd's log) in *error.
  bool Start(std::string* error, const Tls* tls = nullptr);
  // SIGKILL (a crashed store).
  void Kill() { child_.Kill(); }

  // Starts an etcd cluster of `members` members (heartbeat 50 ms, election timeout 500 ms: a
  // shared 2-core host must not flap leaders) and waits (bounded, 30 s) until it accepts a write.
  // False with the reason (and the members' logs) in *error.
  static bool StartCluster(int members, std::vector<std::unique_ptr<EtcdProcess>>* out,
                           std::string* error);

  int client_port() const { return client_port_; }

 private:
  // Forks etcd with `argv` after the binary and data directory flags (no wait).
  bool Spawn(const std::vector<std::string>& flags, std::string* error);

  ChildProcess child_;
  std::string data_dir_;
  int client_port_ = 0;
};

}  // namespace epara::testing
