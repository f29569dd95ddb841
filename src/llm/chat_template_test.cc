#include "llm/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace epara::llm {
namespace {

const std::vector<ChatMessage> kChat = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}};

TEST(ChatTemplateTest, DetectsFamiliesByMarkers) {
  EXPECT_EQ(DetectChatFormat("{% for message in messages %}{{'<|im_start|>' + message['role'] + "
                             "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"),
            ChatFormat::kChatMl);
  EXPECT_EQ(DetectChatFormat("{% if message['role'] == 'user' %}{{ '<|user|>\\n' + "
                             "message['content'] + eos_token }}{% endif %}{{ '<|assistant|>' }}"),
            ChatFormat::kZephyr);
  EXPECT_EQ(DetectChatFormat("{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"),
            ChatFormat::kLlama2);
  EXPECT_EQ(DetectChatFormat("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}"),
            ChatFormat::kLlama3);
  EXPECT_EQ(DetectChatFormat("{{ message['content'] }}"), ChatFormat::kEpara);
}

TEST(ChatTemplateTest, RendersEachFamily) {
  ChatTemplate t;
  EXPECT_EQ(RenderChat(t, kChat),
            "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello.\n<|user|>\nBye\n"
            "<|assistant|>\n");
  t.format = ChatFormat::kChatMl;
  EXPECT_EQ(RenderChat(t, {{"user", "Hi"}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  t.format = ChatFormat::kZephyr;
  EXPECT_EQ(RenderChat(t, {{"system", "S"}, {"user", "Hi"}}),
            "<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\n");
  t.format = ChatFormat::kLlama2;
  EXPECT_EQ(RenderChat(t, kChat),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]");
  t.format = ChatFormat::kLlama3;
  EXPECT_EQ(RenderChat(t, {{"user", "Hi"}}),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, LoadsFromTokenizerConfig) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("epara_chat_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ChatTemplate t;
  bool recognized = false;
  ASSERT_TRUE(LoadChatTemplate(dir.string(), &t, &recognized).ok());  // no file: default
  EXPECT_EQ(t.format, ChatFormat::kEpara);
  EXPECT_TRUE(recognized);

  std::ofstream(dir / "tokenizer_config.json")
      << R"({"eos_token": {"content": "<|end|>"}, "bos_token": "<|begin|>",
             "chat_template": "{{ '<|user|>' }}{{ '<|assistant|>' }}"})";
  ASSERT_TRUE(LoadChatTemplate(dir.string(), &t, &recognized).ok());
  EXPECT_EQ(t.format, ChatFormat::kZephyr);
  EXPECT_EQ(t.eos_text, "<|end|>");
  EXPECT_EQ(t.bos_text, "<|begin|>");
  EXPECT_EQ(RenderChat(t, {{"user", "x"}}), "<|user|>\nx<|end|>\n<|assistant|>\n");

  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": [{"name": "tool_use", "template": "[INST]"},
                               {"name": "default", "template": "<|im_start|>"}]})";
  ASSERT_TRUE(LoadChatTemplate(dir.string(), &t, &recognized).ok());
  EXPECT_EQ(t.format, ChatFormat::kChatMl);

  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "{{ custom }}"})";
  ASSERT_TRUE(LoadChatTemplate(dir.string(), &t, &recognized).ok());
  EXPECT_FALSE(recognized);
  EXPECT_EQ(t.format, ChatFormat::kEpara);

  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": 5})";
  Status s = LoadChatTemplate(dir.string(), &t, &recognized);
  EXPECT_NE(s.message().find("'chat_template'"), std::string::npos) << s.message();
  std::ofstream(dir / "tokenizer_config.json") << "{not json";
  s = LoadChatTemplate(dir.string(), &t, &recognized);
  EXPECT_NE(s.message().find("tokenizer_config.json"), std::string::npos) << s.message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace epara::llm
