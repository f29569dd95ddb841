#include "cli/credential_flags.h"

#include <spdlog/spdlog.h>

#include "security/secrets.h"

namespace epara::cli {

void AddTokenFileOption(CLI::App* cmd, std::string* path) {
  cmd->add_option("--token-file", *path,
                  "File holding the cluster credential (epara up: <run-dir>/cluster.token)")
      ->envname("EPARA_CLUSTER_TOKEN_FILE");
}

bool ReadCredential(const std::string& path, std::string* out) {
  out->clear();
  if (path.empty()) return true;
  if (Status s = security::ReadSecretFile(path, out); !s.ok()) {
    spdlog::error("--token-file: {}", s.ToString());
    return false;
  }
  return true;
}

}  // namespace epara::cli
