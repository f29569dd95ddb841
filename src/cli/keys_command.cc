// `epara keys create --file keys.yaml --name NAME [--scopes infer,admin] [--rate-per-s R]
// [--burst B]`: makes a random API key, appends its SHA-256 to the key file (created 0600) and
// prints the key once; it is stored nowhere else. Pass the file to `epara serve --api-keys`,
// `epara up --api-keys` or a node's security.api_keys.
#include <cstdio>

#include "cli/commands.h"
#include "security/api_keys.h"
#include "security/secrets.h"

namespace epara::cli {
namespace {

struct KeysFlags {
  std::string file, name, scopes = "infer";
  double rate_per_s = 0, burst = 0;
};

int RunCreate(const KeysFlags& f) {
  security::ApiKey key;
  key.name = f.name;
  if (Status s = security::ParseScopes(f.scopes, &key.scopes); !s.ok()) {
    std::fprintf(stderr, "--scopes: %s\n", s.message().c_str());
    return 2;
  }
  if (f.rate_per_s < 0 || f.burst < 0) {
    std::fprintf(stderr, "--rate-per-s and --burst must not be negative\n");
    return 2;
  }
  key.rate_per_s = f.rate_per_s;
  key.burst = f.burst;
  std::string secret;
  if (Status s = security::RandomToken("epk-", 24, &secret); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  key.sha256 = security::Sha256Hex(secret);
  if (Status s = security::AppendKey(f.file, key); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "added key '%s' (scopes %s) to %s; it is shown once, below:\n",
               key.name.c_str(), security::ScopeNames(key.scopes).c_str(), f.file.c_str());
  std::printf("%s\n", secret.c_str());
  return 0;
}

}  // namespace

void RegisterKeysCommand(CLI::App& app, int* exit_code) {
  CLI::App* keys = app.add_subcommand("keys", "Manage client API keys");
  keys->require_subcommand(1);
  auto f = std::make_shared<KeysFlags>();
  CLI::App* create =
      keys->add_subcommand("create", "Make a key, store its hash in the key file, print it once");
  create->add_option("--file", f->file, "The key file (YAML; created when absent)")->required();
  create->add_option("--name", f->name, "A unique name (shown in logs and errors)")->required();
  create->add_option("--scopes", f->scopes, "infer, admin or infer,admin")->capture_default_str();
  create->add_option("--rate-per-s", f->rate_per_s, "Sustained requests per second (0: no limit)");
  create->add_option("--burst", f->burst, "Requests allowed at once (default: the rate)");
  create->callback([f, exit_code] { *exit_code = RunCreate(*f); });
}

}  // namespace epara::cli
