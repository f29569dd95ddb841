#include "server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace epara::testing {
namespace {

using Clock = std::chrono::steady_clock;

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Waits for `pid` until `deadline`; returns true and the status when it exited.
bool WaitUntil(pid_t pid, Clock::time_point deadline, int* status) {
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 || Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child, bounded
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

std::string EparaBinary() { return EPARA_BINARY; }

double MetricValue(const std::string& text, const std::string& metric,
                   const std::string& labels_substring) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(metric + "{", 0) == 0 && line.find(labels_substring) != std::string::npos)
      return std::stod(line.substr(line.rfind(' ') + 1));
  return -1;
}

int ConnectLoopback(int port, int recv_timeout_s) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{recv_timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int RunEpara(const std::vector<std::string>& args, std::string* output,
             std::chrono::seconds timeout) {
  const std::string log =
      std::filesystem::temp_directory_path() / ("epara_run_" + std::to_string(getpid()) + ".log");
  std::vector<std::string> argv = {EparaBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = Spawn(argv, log);
  int status = 0;
  int code = -1;
  if (WaitUntil(pid, Clock::now() + timeout, &status)) {
    code = ExitCode(status);
  } else {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  *output = ReadFile(log);
  std::filesystem::remove(log);
  return code;
}

bool ServerProcess::Start(const std::vector<std::string>& extra_args, const std::string& workdir,
                          std::string* error) {
  const std::string port_file = workdir + "/port." + std::to_string(getpid()) + "." +
                                std::to_string(Clock::now().time_since_epoch().count());
  log_path_ = port_file + ".log";
  std::vector<std::string> argv = {EparaBinary(), "serve", "--host",      "127.0.0.1",
                                   "--port",      "0",     "--port-file", port_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(argv, log_path_);
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "server exited early: " + Log();
      return false;
    }
    if (Clock::now() >= deadline) {
      Stop(std::chrono::seconds(5));
      *error = "server did not listen within 120 s: " + Log();
      return false;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(20));  // polling for the port file, bounded
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(std::chrono::seconds(10));
}

int ServerProcess::Stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  int code = -1;
  if (WaitUntil(pid_, Clock::now() + timeout, &status)) {
    code = ExitCode(status);
  } else {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return code;
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

}  // namespace epara::testing
