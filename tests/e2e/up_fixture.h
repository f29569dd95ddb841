// The `epara up` test fixture shared by the e2e tests that start a local cluster.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server_process.h"

namespace epara {

// `epara up`: the local heterogeneous testbed with its own store (no etcd needed).
class UpE2ETest : public ::testing::Test {
 protected:
  using json = nlohmann::json;
  using Clock = std::chrono::steady_clock;
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("epara_up_" + std::to_string(getpid()));
    std::filesystem::create_directories(root_);
    std::string out;
    ASSERT_EQ(testing::RunEpara({"models", "demo", (root_ / "repo").string()}, &out), 0) << out;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Starts `epara up --cluster <root>/<name>.yaml` (run dir <name>-run, log <name>-up.log) and
  // waits (bounded, 180 s) until every node listens. Returns the endpoints file's JSON, or null
  // after reporting a failure.
  json StartUp(const std::string& name, testing::ChildProcess* up,
               const std::vector<std::string>& extra_args = {}) {
    const std::string endpoints = (root_ / (name + ".json")).string();
    std::vector<std::string> args = {testing::EparaBinary(),
                                     "up",
                                     "--cluster",
                                     (root_ / (name + ".yaml")).string(),
                                     "--run-dir",
                                     (root_ / (name + "-run")).string(),
                                     "--endpoints-file",
                                     endpoints};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    if (!up->Start(args, (root_ / (name + "-up.log")).string())) {
      ADD_FAILURE() << "fork failed";
      return json();
    }
    const auto deadline = Clock::now() + std::chrono::seconds(180);
    for (;;) {
      json ep = json::parse(testing::ReadTextFile(endpoints), nullptr, false);
      if (ep.is_object()) {
        // The cluster credential epara up made: the control plane (/v1/cluster, /v1/internal/*,
        // epara status and deploy) asks for it.
        token_file_ = ep.value("token_file", "");
        credential_ = testing::ReadTextFile(token_file_);
        while (!credential_.empty() && std::isspace(static_cast<unsigned char>(credential_.back())))
          credential_.pop_back();
        return ep;
      }
      if (!up->Running() || Clock::now() >= deadline) {
        ADD_FAILURE() << "epara up did not come up: " << up->Log();
        return json();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file, bounded
    }
  }

  std::filesystem::path root_;
  std::string token_file_, credential_;  // of the last StartUp
};

}  // namespace epara
