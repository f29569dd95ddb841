#include "llm/chat_template.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/gguf_llama.h"
#include "llm/gguf_tokenizer.h"

namespace epara::llm {

const char* ChatFormatName(ChatFormat f) {
  switch (f) {
    case ChatFormat::kEpara:
      return "epara";
    case ChatFormat::kChatMl:
      return "chatml";
    case ChatFormat::kZephyr:
      return "zephyr";
    case ChatFormat::kLlama2:
      return "llama2";
    case ChatFormat::kLlama3:
      return "llama3";
  }
  return "?";
}

ChatFormat DetectChatFormat(std::string_view t) {
  const auto has = [&](std::string_view s) { return t.find(s) != std::string_view::npos; };
  if (has("<|im_start|>")) return ChatFormat::kChatMl;
  if (has("<|start_header_id|>")) return ChatFormat::kLlama3;
  if (has("[INST]")) return ChatFormat::kLlama2;
  if (has("<|user|>") && has("<|assistant|>")) return ChatFormat::kZephyr;
  return ChatFormat::kEpara;
}

namespace {

// "bos_token": "<s>" or {"content": "<s>", ...}; keeps `*out` when absent.
void ReadToken(const nlohmann::json& j, const char* key, std::string* out) {
  if (!j.contains(key)) return;
  const auto& v = j[key];
  if (v.is_string())
    *out = v.get<std::string>();
  else if (v.is_object() && v.contains("content") && v["content"].is_string())
    *out = v["content"].get<std::string>();
}

}  // namespace

Status LoadChatTemplate(const std::string& model_dir, ChatTemplate* out, bool* recognized) {
  *recognized = true;
  *out = ChatTemplate{};
  if (const std::string gguf = FindGgufModel(model_dir); !gguf.empty()) {
    std::unique_ptr<formats::GgufFile> file;
    EPARA_RETURN_IF_ERROR(formats::GgufFile::Open(gguf, &file));
    return LoadGgufChatTemplate(*file, out, recognized);
  }
  const auto path = std::filesystem::path(model_dir) / "tokenizer_config.json";
  std::ifstream in(path);
  if (!in) return Status::Ok();
  std::stringstream ss;
  ss << in.rdbuf();
  const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument(path.string() + ": not a JSON object");
  ReadToken(j, "bos_token", &out->bos_text);
  ReadToken(j, "eos_token", &out->eos_text);
  if (!j.contains("chat_template")) return Status::Ok();
  std::string jinja;
  const auto& ct = j["chat_template"];
  if (ct.is_string()) {
    jinja = ct.get<std::string>();
  } else if (ct.is_array()) {
    for (const auto& e : ct)
      if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
          e["template"].is_string())
        jinja = e["template"].get<std::string>();
  } else {
    return InvalidArgument(path.string() + ": field 'chat_template' must be a string or a list");
  }
  out->format = DetectChatFormat(jinja);
  *recognized = out->format != ChatFormat::kEpara;
  return Status::Ok();
}

namespace {

std::string RenderLlama2(const ChatTemplate& t, const std::vector<ChatMessage>& messages) {
  std::string p, system;
  bool first_user = true;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      system += m.content;
    } else if (m.role == "user") {
      if (!first_user) p += t.bos_text;
      p += "[INST] ";
      if (!system.empty()) p += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      system.clear();
      p += m.content + " [/INST]";
      first_user = false;
    } else {
      p += " " + m.content + " " + t.eos_text;
    }
  }
  return p;
}

}  // namespace

std::string RenderChat(const ChatTemplate& t, const std::vector<ChatMessage>& messages) {
  std::string p;
  switch (t.format) {
    case ChatFormat::kChatMl:
      for (const auto& m : messages)
        p += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      return p + "<|im_start|>assistant\n";
    case ChatFormat::kZephyr:
      for (const auto& m : messages) p += "<|" + m.role + "|>\n" + m.content + t.eos_text + "\n";
      return p + "<|assistant|>\n";
    case ChatFormat::kLlama2:
      return RenderLlama2(t, messages);
    case ChatFormat::kLlama3:
      for (const auto& m : messages)
        p += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      return p + "<|start_header_id|>assistant<|end_header_id|>\n\n";
    case ChatFormat::kEpara:
      break;
  }
  for (const auto& m : messages) p += "<|" + m.role + "|>\n" + m.content + "\n";
  return p + "<|assistant|>\n";
}

}  // namespace epara::llm
