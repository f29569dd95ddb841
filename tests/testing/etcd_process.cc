#include "testing/etcd_process.h"

#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace epara::testing {

std::string FindEtcd() {
  if (const char* env = std::getenv("EPARA_ETCD"); env && *env && access(env, X_OK) == 0)
    return env;
  if (access("/usr/bin/etcd", X_OK) == 0) return "/usr/bin/etcd";
  return "";
}

EtcdProcess::~EtcdProcess() {
  child_.Stop(std::chrono::seconds(10));
  if (!data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

bool EtcdProcess::Spawn(const std::vector<std::string>& flags, std::string* error) {
  const std::string etcd = FindEtcd();
  if (etcd.empty()) {
    *error = "etcd is not installed (apt install etcd-server, or set EPARA_ETCD)";
    return false;
  }
  char tmpl[] = "/tmp/epara_etcd_XXXXXX";
  if (!mkdtemp(tmpl)) {
    *error = "mkdtemp failed";
    return false;
  }
  data_dir_ = tmpl;
  std::vector<std::string> argv = {etcd, "--data-dir=" + data_dir_ + "/data", "--log-level=warn"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  if (!child_.Start(argv, data_dir_ + "/etcd.log")) {
    *error = "fork failed";
    return false;
  }
  return true;
}

bool EtcdProcess::StartCluster(int members, std::vector<std::unique_ptr<EtcdProcess>>* out,
                               std::string* error) {
  out->clear();
  std::vector<int> peer_ports;
  std::string initial;
  for (int i = 0; i < members; ++i) {
    out->push_back(std::make_unique<EtcdProcess>());
    out->back()->client_port_ = FreeLoopbackPort();
    peer_ports.push_back(FreeLoopbackPort());
    if (i > 0) initial += ",";
    initial += "m" + std::to_string(i) + "=http://127.0.0.1:" + std::to_string(peer_ports.back());
  }
  for (int i = 0; i < members; ++i) {
    const std::string client_url = "http://127.0.0.1:" + std::to_string((*out)[i]->client_port_);
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_ports[i]);
    if (!(*out)[i]->Spawn(
            {"--name=m" + std::to_string(i), "--listen-client-urls=" + client_url,
             "--advertise-client-urls=" + client_url, "--listen-peer-urls=" + peer_url,
             "--initial-advertise-peer-urls=" + peer_url, "--initial-cluster=" + initial,
             "--initial-cluster-state=new",
             "--initial-cluster-token=epara-test-" + std::to_string(getpid()),
             "--heartbeat-interval=50", "--election-timeout=500"},
            error))
      return false;
  }
  // A write succeeds once the members have elected a leader.
  httplib::Client client("127.0.0.1", (*out)[0]->client_port_);
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.set_read_timeout(std::chrono::seconds(2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& m : *out)
      if (!m->child_.Running()) {
        *error = "an etcd member exited: " + m->child_.Log();
        return false;
      }
    auto res =
        client.Post("/v3/kv/put", R"({"key":"cmVhZHk=","value":"MQ=="})", "application/json");
    if (res && res->status == 200 && res->body.find("\"header\"") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling readiness, bounded
  }
  *error = "the etcd cluster did not accept a write within 30 s: " + (*out)[0]->child_.Log();
  return false;
}

bool EtcdProcess::Start(std::string* error, const Tls* tls) {
  client_port_ = FreeLoopbackPort();
  const int peer_port = FreeLoopbackPort();
  const std::string client_url =
      (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(client_port_);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
  std::vector<std::string> flags = {"--name=epara-test",
                                    "--listen-client-urls=" + client_url,
                                    "--advertise-client-urls=" + client_url,
                                    "--listen-peer-urls=" + peer_url,
                                    "--initial-advertise-peer-urls=" + peer_url,
                                    "--initial-cluster=epara-test=" + peer_url,
                                    "--heartbeat-interval=10",
                                    "--election-timeout=100"};
  if (tls)
    for (const std::string& flag :
         {"--cert-file=" + tls->cert, "--key-file=" + tls->key, std::string("--client-cert-auth"),
          "--trusted-ca-file=" + tls->ca})
      flags.push_back(flag);
  if (!Spawn(flags, error)) return false;
  httplib::Client client(client_url, tls ? tls->cert : "", tls ? tls->key : "");
  if (tls) {
    client.set_ca_cert_path(tls->ca);
    client.enable_server_certificate_verification(true);
  }
  client.set_connection_timeout(std::chrono::milliseconds(200));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_.Running()) {
      *error = "etcd exited: " + child_.Log();
      return false;
    }
    if (auto res = client.Get("/version"); res && res->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling readiness, bounded
  }
  *error = "etcd did not answer within 20 s: " + child_.Log();
  child_.Kill();
  return false;
}

}  // namespace epara::testing
