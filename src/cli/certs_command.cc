// `epara certs init --dir D` makes a cluster CA; `epara certs issue --dir D --name node-a
// [--host 10.0.0.7]...` signs a node certificate with it (D/node-a.pem, D/node-a.key). Copy ca.pem
// and a node's pair to that node and name them in its config's security.tls; keep ca.key off the
// nodes. (`epara up` makes its own per run.)
#include <cstdio>

#include "cli/commands.h"
#include "security/certs.h"

namespace epara::cli {

void RegisterCertsCommand(CLI::App& app, int* exit_code) {
  CLI::App* certs = app.add_subcommand("certs", "Make the cluster CA and node certificates (mTLS)");
  certs->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto hosts = std::make_shared<std::vector<std::string>>();
  CLI::App* init = certs->add_subcommand("init", "Make a new cluster CA in --dir");
  init->add_option("--dir", *dir, "Where ca.pem and ca.key (0600) go")->required();
  init->callback([dir, exit_code] {
    Status s = security::CreateCa(*dir, "epara cluster CA");
    if (!s.ok())
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
    else
      std::printf("wrote %s/ca.pem and %s/ca.key (keep ca.key off the nodes)\n", dir->c_str(),
                  dir->c_str());
    *exit_code = s.ok() ? 0 : 1;
  });
  CLI::App* issue = certs->add_subcommand("issue", "Sign a node certificate with the CA in --dir");
  issue->add_option("--dir", *dir, "The CA's folder (epara certs init)")->required();
  issue->add_option("--name", *name, "The node's id (the certificate's name)")->required();
  issue->add_option("--host", *hosts, "A host name or IP address the node has (repeatable)");
  issue->callback([dir, name, hosts, exit_code] {
    const std::string prefix = *dir + "/" + *name;
    Status s = security::IssueCertificate(*dir, *name, *hosts, prefix);
    if (!s.ok())
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
    else
      std::printf("wrote %s.pem and %s.key\n", prefix.c_str(), prefix.c_str());
    *exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace epara::cli
