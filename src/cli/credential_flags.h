// The cluster credential on the command line: commands that talk to the control plane (status,
// deploy, controller, bench) take `--token-file` (default: $EPARA_CLUSTER_TOKEN_FILE); `epara up`
// writes one to <run-dir>/cluster.token and names it in its endpoints file.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace epara::cli {

void AddTokenFileOption(CLI::App* cmd, std::string* path);
// The credential in `path` ("" when path is empty). False after logging when it cannot be read.
bool ReadCredential(const std::string& path, std::string* out);

}  // namespace epara::cli
