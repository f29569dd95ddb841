// Chat templates: turning OpenAI chat messages into one prompt string.
//
// Hugging Face model folders carry their template as Jinja in tokenizer_config.json
// ("chat_template"). epara does not run Jinja; it recognizes the families small Llama-class models
// use by their marker tokens and renders them natively:
//   kChatMl   "<|im_start|>{role}\n{content}<|im_end|>\n" ... "<|im_start|>assistant\n"
//             (SmolLM, Qwen, ...)
//   kZephyr   "<|{role}|>\n{content}{eos}\n" ... "<|assistant|>\n"  (TinyLlama-Chat, Zephyr)
//   kLlama2   "[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} {eos}{bos}[INST]
//   ..." kLlama3   "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>" ...
//             "<|start_header_id|>assistant<|end_header_id|>\n\n"
// and otherwise uses epara's documented default:
//   kEpara    "<|{role}|>\n{content}\n" ... "<|assistant|>\n"
// The rendered prompt never starts with BOS: the server adds the BOS token itself. Special token
// strings in it (e.g. "</s>") become their tokens through EncodeWithSpecialTokens.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace epara::llm {

enum class ChatFormat { kEpara, kChatMl, kZephyr, kLlama2, kLlama3 };
const char* ChatFormatName(ChatFormat f);

struct ChatTemplate {
  ChatFormat format = ChatFormat::kEpara;
  std::string bos_text = "<s>";  // as the template writes BOS and EOS
  std::string eos_text = "</s>";
};

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

// The family a Jinja template belongs to, by its marker strings; kEpara when none matches.
ChatFormat DetectChatFormat(std::string_view jinja);

// Reads `model_dir`/tokenizer_config.json if present: "chat_template" (a string, or a list of
// {name, template} where "default" is used) and "bos_token"/"eos_token" (a string or
// {"content": ...}). No file or no template: kEpara. Sets `*recognized` false when the folder has a
// template that matched no family (the caller warns). InvalidArgument on malformed JSON, naming the
// file.
Status LoadChatTemplate(const std::string& model_dir, ChatTemplate* out, bool* recognized);

// Renders the messages and the assistant's generation prompt. Pure.
std::string RenderChat(const ChatTemplate& t, const std::vector<ChatMessage>& messages);

}  // namespace epara::llm
