// Test helper: runs the real `epara` binary as a child process, on a free loopback port, and
// stops it by PID. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "testing/child_process.h"

namespace epara::testing {

// Path of the epara binary under test (compiled in by CMake).
std::string EparaBinary();

// Runs `epara args...` to completion (bounded by `timeout`); returns its exit code (-1 on timeout,
// after killing it) and its combined output in *output.
int RunEpara(const std::vector<std::string>& args, std::string* output,
             std::chrono::seconds timeout = std::chrono::seconds(120));

// The value of the first Prometheus sample of `metric` whose line contains `labels_substring`;
// -1 when there is none.
double MetricValue(const std::string& text, const std::string& metric,
                   const std::string& labels_substring);

// A TCP socket connected to 127.0.0.1:`port` whose reads time out after `recv_timeout_s`; -1 on
// failure. The caller closes it.
int ConnectLoopback(int port, int recv_timeout_s);

class ServerProcess {
 public:
  // Starts `epara serve --port 0 --port-file ... <extra_args>` and waits (bounded) until it
  // listens. On failure returns false and leaves the server's log in *error.
  bool Start(const std::vector<std::string>& extra_args, const std::string& workdir,
             std::string* error);

  int port() const { return port_; }
  pid_t pid() const { return child_.pid(); }
  // SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit status (or -1 if killed).
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(60)) { return child_.Stop(timeout); }
  std::string Log() const { return child_.Log(); }

 private:
  ChildProcess child_;
  int port_ = 0;
};

// `epara node --config <file> --port-file ...` as a child process.
class NodeProcess {
 public:
  // Writes `yaml` to workdir/<id>.yaml, starts the node and waits (bounded, 120 s) until it
  // listens. False with the node's log in *error otherwise.
  bool Start(const std::string& id, const std::string& yaml, const std::string& workdir,
             std::string* error);
  int api_port() const { return api_port_; }
  int peer_port() const { return peer_port_; }
  ChildProcess& process() { return child_; }
  std::string Log() const { return child_.Log(); }

 private:
  ChildProcess child_;
  int api_port_ = 0, peer_port_ = 0;
};

}  // namespace epara::testing
