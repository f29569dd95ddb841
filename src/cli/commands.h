// `epara` subcommands. Each Register* adds its subcommand to the CLI11 app; the callback runs the
// command and stores the process exit code in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace epara::cli {

void RegisterServeCommand(CLI::App& app, int* exit_code);
void RegisterModelsCommand(CLI::App& app, int* exit_code);
void RegisterNodeCommand(CLI::App& app, int* exit_code);
void RegisterUpCommand(CLI::App& app, int* exit_code);
void RegisterStatusCommand(CLI::App& app, int* exit_code);
void RegisterProfileCommand(CLI::App& app, int* exit_code);
void RegisterPlanCommand(CLI::App& app, int* exit_code);
void RegisterPlacementCommand(CLI::App& app, int* exit_code);
void RegisterDeployCommand(CLI::App& app, int* exit_code);
void RegisterControllerCommand(CLI::App& app, int* exit_code);
void RegisterBenchCommand(CLI::App& app, int* exit_code);
void RegisterSimCommand(CLI::App& app, int* exit_code);
void RegisterKeysCommand(CLI::App& app, int* exit_code);
void RegisterCertsCommand(CLI::App& app, int* exit_code);

}  // namespace epara::cli
