// Test fixture shared by the LLM engine tests: a deterministic demo LLM small enough for unit
// tests (hidden 64, 4 query / 2 KV heads, context 256) with `kLayers` layers, written once per
// suite into a temporary directory (`dir_ / "llama-demo"`).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "models/demo_llm.h"

namespace epara::llm {

template <int kLayers>
class TinyLlmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(
        std::filesystem::temp_directory_path() /
        ("epara_tiny_llm_" + std::to_string(kLayers) + "_" + std::to_string(getpid())));
    models::DemoLlmOptions o;
    o.hidden = 64;
    o.layers = kLayers;
    o.heads = 4;
    o.kv_heads = 2;
    o.intermediate = 96;
    o.max_positions = 256;
    Status s = models::WriteDemoLlm(dir_->string(), o);
    if (!s.ok()) setup_error_ = s.ToString();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }

  static inline std::filesystem::path* dir_ = nullptr;
  static inline std::string setup_error_;
};

}  // namespace epara::llm
