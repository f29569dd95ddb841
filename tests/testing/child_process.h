// Test helpers: child processes that tests start, watch and stop by PID (never by name), with
// every wait bounded, and free loopback ports for them to listen on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace epara::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). Another
// process may take it in between; callers that can should let the child pick (port 0) instead.
int FreeLoopbackPort();

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // Stop(10 s) if still running

  // Starts argv[0] (a path) with stdout and stderr to `log_path`. False if fork failed.
  bool Start(const std::vector<std::string>& argv, const std::string& log_path);
  // True while the child has not exited (reaps it if it has; the exit code goes to exit_code()).
  bool Running();
  // SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code (-1 if killed or none).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // SIGKILL now, and reap.
  void Kill();
  // Waits up to `timeout` for the child to exit on its own; its exit code, or -1 on timeout
  // (the child is then killed).
  int Wait(std::chrono::milliseconds timeout);

  pid_t pid() const { return pid_; }
  int exit_code() const { return exit_code_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

// The whole content of a file ("" if it cannot be read).
std::string ReadTextFile(const std::string& path);

}  // namespace epara::testing
