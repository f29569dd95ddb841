#include "server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace epara::testing {
namespace {

using Clock = std::chrono::steady_clock;

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
  ChildProcess child;
  int code = child.Start(argv, log) ? child.Wait(timeout) : -1;
  *output = child.Log();
  std::filesystem::remove(log);
  return code;
}

bool ServerProcess::Start(const std::vector<std::string>& extra_args, const std::string& workdir,
                          std::string* error) {
  const std::string port_file = workdir + "/port." + std::to_string(getpid()) + "." +
                                std::to_string(Clock::now().time_since_epoch().count());
  std::vector<std::string> argv = {EparaBinary(), "serve", "--host",      "127.0.0.1",
                                   "--port",      "0",     "--port-file", port_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (!child_.Start(argv, port_file + ".log")) {
    *error = "fork failed";
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return true;
    if (!child_.Running()) {
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

bool NodeProcess::Start(const std::string& id, const std::string& yaml, const std::string& workdir,
                        std::string* error) {
  const std::string config = workdir + "/" + id + ".yaml";
  const std::string port_file = workdir + "/" + id + ".ports";
  std::ofstream(config) << yaml;
  std::filesystem::remove(port_file);  // a previous node of that id may have left one
  if (!child_.Start({EparaBinary(), "node", "--config", config, "--port-file", port_file},
                    workdir + "/" + id + ".log")) {
    *error = "fork failed";
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    std::ifstream in(port_file);
    if (in >> api_port_ >> peer_port_ && api_port_ > 0) return true;
    if (!child_.Running()) {
      *error = "node " + id + " exited early: " + Log();
      return false;
    }
    if (Clock::now() >= deadline) {
      child_.Stop(std::chrono::seconds(5));
      *error = "node " + id + " did not listen within 120 s: " + Log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the port file, bounded
  }
}

}  // namespace epara::testing
