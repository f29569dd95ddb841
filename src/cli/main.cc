// epara: one CLI for every role. `epara --help` lists the subcommands.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "core/version.h"

int main(int argc, char** argv) {
  // Only the long-running role pays the re-exec (~0.5 s: the libraries load twice).
  if (argc > 1 && std::string_view(argv[1]) == "serve") epara::ApplyLibraryEnvironment(argv);
  if (!epara::ConfigureHostAllocatorForInference())
    spdlog::warn("glibc refused a malloc setting; inference may be slower");
  CLI::App app{"epara: categorized AI inference serving for heterogeneous edge clusters"};
  app.require_subcommand(1);
  app.set_version_flag("--version", epara::kEparaVersion);
  int exit_code = 0;
  epara::cli::RegisterServeCommand(app, &exit_code);
  epara::cli::RegisterModelsCommand(app, &exit_code);
  epara::cli::RegisterNodeCommand(app, &exit_code);
  epara::cli::RegisterUpCommand(app, &exit_code);
  epara::cli::RegisterStatusCommand(app, &exit_code);
  epara::cli::RegisterProfileCommand(app, &exit_code);
  epara::cli::RegisterPlanCommand(app, &exit_code);
  epara::cli::RegisterPlacementCommand(app, &exit_code);
  epara::cli::RegisterDeployCommand(app, &exit_code);
  epara::cli::RegisterControllerCommand(app, &exit_code);
  epara::cli::RegisterBenchCommand(app, &exit_code);
  epara::cli::RegisterSimCommand(app, &exit_code);
  epara::cli::RegisterKeysCommand(app, &exit_code);
  epara::cli::RegisterCertsCommand(app, &exit_code);
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
