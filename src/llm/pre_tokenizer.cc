#include "llm/pre_tokenizer.h"

#include <oniguruma.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "llm/json_field.h"
#include "llm/tokenizer.h"

namespace epara::llm {
namespace {

using json = nlohmann::json;

void InitOniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

// A compiled pattern; every match becomes a piece of its own, and so does the text between
// matches (the "Isolated" behavior).
class RegexSplit final : public PreTokenizer {
 public:
  static Status Compile(std::string_view pattern, const std::string& origin,
                        const std::string& field, std::unique_ptr<PreTokenizer>* out) {
    InitOniguruma();
    auto split = std::unique_ptr<RegexSplit>(new RegexSplit);
    OnigErrorInfo info;
    const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
    const int r = onig_new(&split->regex_, p, p + pattern.size(), ONIG_OPTION_NONE,
                           ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
    if (r != ONIG_NORMAL) {
      split->regex_ = nullptr;
      OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(message, r, &info);
      return FieldError(origin, field,
                        std::string("bad regex: ") + reinterpret_cast<char*>(message));
    }
    *out = std::move(split);
    return Status::Ok();
  }

  ~RegexSplit() override {
    if (regex_ != nullptr) onig_free(regex_);
  }

  void Split(std::string_view text, std::vector<std::string>* out) const override {
    const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
    const auto* end = begin + text.size();
    OnigRegion* region = onig_region_new();
    size_t piece_start = 0, at = 0;
    {
      // Oniguruma's search is documented thread-safe per regex only in some builds; the words of
      // one prompt take microseconds, so serializing costs nothing that matters.
      std::lock_guard<std::mutex> lock(mu_);
      while (at < text.size()) {
        const int r = onig_search(regex_, begin, end, begin + at, end, region, ONIG_OPTION_NONE);
        if (r < 0) break;  // ONIG_MISMATCH (or an error): the rest is one piece
        const size_t m0 = static_cast<size_t>(region->beg[0]);
        const size_t m1 = static_cast<size_t>(region->end[0]);
        if (m1 == m0) {  // an empty match cuts nothing; look again one character on
          at = m0 + Utf8CharLength(text, m0);
          continue;
        }
        if (m0 > piece_start) out->emplace_back(text.substr(piece_start, m0 - piece_start));
        out->emplace_back(text.substr(m0, m1 - m0));
        piece_start = at = m1;
      }
    }
    onig_region_free(region, 1);
    if (piece_start < text.size()) out->emplace_back(text.substr(piece_start));
  }

 private:
  RegexSplit() = default;

  regex_t* regex_ = nullptr;
  mutable std::mutex mu_;
};

class PrefixSpace final : public PreTokenizer {
 public:
  explicit PrefixSpace(std::unique_ptr<PreTokenizer> then) : then_(std::move(then)) {}
  void Split(std::string_view text, std::vector<std::string>* out) const override {
    if (text.empty() || text[0] == ' ') return Whole(text, out);
    std::string prefixed(1, ' ');
    prefixed.append(text);
    Whole(prefixed, out);
  }

 private:
  void Whole(std::string_view text, std::vector<std::string>* out) const {
    if (then_) return then_->Split(text, out);
    out->emplace_back(text);
  }
  std::unique_ptr<PreTokenizer> then_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void Split(std::string_view text, std::vector<std::string>* out) const override {
    std::vector<std::string> pieces{std::string(text)}, next;
    for (const auto& step : steps_) {
      next.clear();
      for (const std::string& p : pieces) step->Split(p, &next);
      pieces.swap(next);
    }
    for (std::string& p : pieces) out->push_back(std::move(p));
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

class NoSplit final : public PreTokenizer {
 public:
  void Split(std::string_view text, std::vector<std::string>* out) const override {
    out->emplace_back(text);
  }
};

// Regex special characters escaped, so a {"String": S} pattern matches S literally.
std::string EscapeLiteral(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

Status Build(const json& j, const std::string& origin, const std::string& field,
             std::unique_ptr<PreTokenizer>* out) {
  if (j.is_null()) {
    *out = std::make_unique<NoSplit>();
    return Status::Ok();
  }
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return FieldError(origin, field, "expected an object with a string 'type'");
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      return FieldError(origin, field + ".pretokenizers", "expected an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < j["pretokenizers"].size(); ++i) {
      std::unique_ptr<PreTokenizer> step;
      EPARA_RETURN_IF_ERROR(Build(j["pretokenizers"][i], origin,
                                  field + ".pretokenizers[" + std::to_string(i) + "]", &step));
      steps.push_back(std::move(step));
    }
    *out = std::make_unique<Sequence>(std::move(steps));
    return Status::Ok();
  }
  if (type == "Split") {
    bool invert = false;
    std::string behavior = "Isolated";
    EPARA_RETURN_IF_ERROR(GetField(j, "invert", origin, field, &invert));
    EPARA_RETURN_IF_ERROR(GetField(j, "behavior", origin, field, &behavior));
    if (invert) return FieldError(origin, field + ".invert", "only false is supported");
    if (behavior != "Isolated")
      return FieldError(origin, field + ".behavior",
                        "'" + behavior + "' is not supported (only \"Isolated\")");
    const json& p = j.contains("pattern") ? j["pattern"] : json();
    if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
      return RegexSplit::Compile(p["Regex"].get<std::string>(), origin, field + ".pattern.Regex",
                                 out);
    if (p.is_object() && p.contains("String") && p["String"].is_string())
      return RegexSplit::Compile(EscapeLiteral(p["String"].get<std::string>()), origin,
                                 field + ".pattern.String", out);
    return FieldError(origin, field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
  }
  if (type == "ByteLevel") {
    std::unique_ptr<PreTokenizer> words;
    bool use_regex = true, add_prefix_space = false;
    EPARA_RETURN_IF_ERROR(GetField(j, "use_regex", origin, field, &use_regex));
    EPARA_RETURN_IF_ERROR(GetField(j, "add_prefix_space", origin, field, &add_prefix_space));
    if (use_regex) EPARA_RETURN_IF_ERROR(RegexSplit::Compile(kGpt2Pattern, origin, field, &words));
    if (add_prefix_space)
      *out = std::make_unique<PrefixSpace>(std::move(words));
    else if (words)
      *out = std::move(words);
    else
      *out = std::make_unique<NoSplit>();
    return Status::Ok();
  }
  if (type == "Digits") {
    bool individual = false;
    EPARA_RETURN_IF_ERROR(GetField(j, "individual_digits", origin, field, &individual));
    return RegexSplit::Compile(individual ? R"(\p{N})" : R"(\p{N}+)", origin, field, out);
  }
  return FieldError(origin, field + ".type",
                    "'" + type + "' is not supported (Split, ByteLevel, Digits, Sequence are)");
}

}  // namespace

Status PreTokenizer::FromJson(const json& j, const std::string& origin,
                              std::unique_ptr<PreTokenizer>* out) {
  return Build(j, origin, "pre_tokenizer", out);
}

nlohmann::json Gpt2PreTokenizerJson() {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
}

nlohmann::json Llama3PreTokenizerJson() {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{"Regex", std::string(kLlama3Pattern)}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
}

}  // namespace epara::llm
