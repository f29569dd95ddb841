// Test helper: a real single-member etcd on free loopback ports with a temporary data directory,
// started and stopped by PID. Tests that need one skip when etcd is not installed.
#pragma once

#include <string>

#include "testing/child_process.h"

namespace epara::testing {

// The etcd binary: $EPARA_ETCD if set, else /usr/bin/etcd; "" when neither exists.
std::string FindEtcd();

class EtcdProcess {
 public:
  EtcdProcess() = default;
  ~EtcdProcess();  // stops etcd and removes its data directory

  // Starts etcd and waits (bounded, 20 s) until it answers GET /version. Its minimum lease TTL is
  // 1 s (heartbeat 10 ms, election timeout 100 ms). False with the reason (and etcd's log) in
  // *error.
  bool Start(std::string* error);
  // SIGKILL (a crashed store).
  void Kill() { child_.Kill(); }

  int client_port() const { return client_port_; }

 private:
  ChildProcess child_;
  std::string data_dir_;
  int client_port_ = 0;
};

}  // namespace epara::testing
