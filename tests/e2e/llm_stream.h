// Checks a streamed OpenAI completion (chat or text) as a client would: the events it carried,
// the text they add up to, how it ended. Shared by the e2e tests that change an LLM's mode under
// load.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

namespace epara::testing {

// "" when `r` is a 200 event stream that carried its whole answer: no error event, a finish
// reason, `max_tokens` completion tokens in its usage event (unless it stopped, when
// `allow_stop`), and [DONE] last. Else what was wrong. *text: the streamed text.
inline std::string CheckCompletionStream(const httplib::Result& r, int max_tokens, bool allow_stop,
                                         std::string* text) {
  using json = nlohmann::json;
  text->clear();
  if (!r) return "no response: " + httplib::to_string(r.error());
  if (r->status != 200) return std::to_string(r->status) + " " + r->body;
  const std::string& b = r->body;
  const std::string done = "data: [DONE]\n\n";
  if (b.size() < done.size() || b.compare(b.size() - done.size(), done.size(), done) != 0)
    return "no [DONE] at the end: " + b.substr(b.size() > 300 ? b.size() - 300 : 0);
  std::string finish;
  int tokens = -1;
  for (size_t at = 0; (at = b.find("data: ", at)) != std::string::npos;) {
    const size_t end = b.find("\n\n", at);
    const std::string data = b.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") break;
    const json e = json::parse(data, nullptr, false);
    if (!e.is_object()) return "unparsable event: " + data;
    if (e.contains("error")) return "error event: " + data;
    if (e.contains("usage") && e["usage"].is_object())
      tokens = e["usage"]["completion_tokens"].get<int>();
    for (const auto& c : e.value("choices", json::array())) {
      if (c.contains("text") && c["text"].is_string()) *text += c["text"].get<std::string>();
      if (c.contains("delta") && c["delta"].contains("content"))
        *text += c["delta"]["content"].get<std::string>();
      if (c.contains("finish_reason") && c["finish_reason"].is_string())
        finish = c["finish_reason"].get<std::string>();
    }
  }
  if (tokens < 0) return "no usage event";
  if (finish == "length" && tokens == max_tokens) return "";
  if (finish == "stop" && allow_stop) return "";
  return "incomplete: finish '" + finish + "' after " + std::to_string(tokens) + " tokens";
}

}  // namespace epara::testing
