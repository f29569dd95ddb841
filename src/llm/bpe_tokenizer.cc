#include "llm/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>

#include "llm/json_field.h"

namespace epara::llm {
namespace {

using json = nlohmann::json;

// Ids beyond this are refused: real vocabularies have up to ~256 k entries, and the id -> piece
// table is sized by the largest id.
constexpr int64_t kMaxId = int64_t{1} << 21;

std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Printable bytes stand for themselves; the others (controls, space, 127-160, 173) take the
// code points from 256 on, in byte order.
const std::array<std::string, 256>& ByteChars() {
  static const std::array<std::string, 256> chars = [] {
    std::array<std::string, 256> c;
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      c[b] = Utf8(printable ? static_cast<uint32_t>(b) : next++);
    }
    return c;
  }();
  return chars;
}

const std::unordered_map<std::string, unsigned char>& CharBytes() {
  static const std::unordered_map<std::string, unsigned char> bytes = [] {
    std::unordered_map<std::string, unsigned char> m;
    for (int b = 0; b < 256; ++b) m[ByteChars()[b]] = static_cast<unsigned char>(b);
    return m;
  }();
  return bytes;
}

// A byte-level token's bytes; characters outside the mapping are kept as their UTF-8.
std::string TokenBytes(const std::string& token) {
  std::string out;
  for (size_t i = 0; i < token.size();) {
    const size_t n = Utf8CharLength(token, i);
    const std::string ch = token.substr(i, n);
    const auto it = CharBytes().find(ch);
    if (it != CharBytes().end())
      out += static_cast<char>(it->second);
    else
      out += ch;
    i += n;
  }
  return out;
}

Status ReadJson(const std::string& path, json* out) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  *out = json::parse(ss.str(), nullptr, false);
  if (out->is_discarded()) return InvalidArgument(path + ": not valid JSON");
  return Status::Ok();
}

std::string TokenString(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  return "";
}

// j[key] when it is a string, else "".
std::string StringAt(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// The special token a TemplateProcessing puts before the sequence in "single", or "" (nothing
// else of a post-processor matters here, so other shapes are not errors).
std::string LeadingTemplateToken(const json& pp) {
  if (!pp.is_object()) return "";
  if (StringAt(pp, "type") == "Sequence" && pp.contains("processors") &&
      pp["processors"].is_array()) {
    for (const json& p : pp["processors"])
      if (std::string t = LeadingTemplateToken(p); !t.empty()) return t;
    return "";
  }
  if (StringAt(pp, "type") != "TemplateProcessing" || !pp.contains("single") ||
      !pp["single"].is_array() || pp["single"].empty())
    return "";
  const json& first = pp["single"][0];
  if (first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].is_object())
    return StringAt(first["SpecialToken"], "id");
  return "";
}

}  // namespace

const std::string& ByteLevelChar(unsigned char b) { return ByteChars()[b]; }

Status BpeTokenizer::Load(const std::string& path, const std::string& config_path,
                          std::unique_ptr<BpeTokenizer>* out) {
  json j, config;
  EPARA_RETURN_IF_ERROR(ReadJson(path, &j));
  if (Status s = ReadJson(config_path, &config); !s.ok() && s.code() != StatusCode::kNotFound)
    return s;
  return FromJson(j, config, path, out);
}

Status BpeTokenizer::FromJson(const nlohmann::json& j, const nlohmann::json& config,
                              const std::string& path, std::unique_ptr<BpeTokenizer>* out) {
  const auto bad = [&](const std::string& field, const std::string& what) {
    return FieldError(path, field, what);
  };
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    return bad("model", "missing");
  const json& m = j["model"];
  auto t = std::unique_ptr<BpeTokenizer>(new BpeTokenizer);
  std::string type = "BPE";
  bool byte_fallback = false;
  EPARA_RETURN_IF_ERROR(GetField(m, "type", path, "model", &type));
  EPARA_RETURN_IF_ERROR(GetField(m, "byte_fallback", path, "model", &byte_fallback));
  EPARA_RETURN_IF_ERROR(GetField(m, "ignore_merges", path, "model", &t->ignore_merges_));
  if (type != "BPE") return bad("model.type", "'" + type + "' is not supported (only BPE)");
  if (byte_fallback)
    return bad("model.byte_fallback",
               "SentencePiece-style BPE is read from tokenizer.model, which this folder lacks");
  if (j.contains("normalizer") && !j["normalizer"].is_null())
    return bad("normalizer", "only null is supported");
  if (!m.contains("vocab") || !m["vocab"].is_object() || m["vocab"].empty())
    return bad("model.vocab", "expected a non-empty object of token -> id");
  if (!m.contains("merges") || !m["merges"].is_array())
    return bad("model.merges", "expected an array");

  int32_t max_id = -1;
  for (const auto& [token, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxId)
      return bad("model.vocab", "token '" + token + "' has no valid id");
    t->vocab_[token] = id.get<int32_t>();
    max_id = std::max(max_id, id.get<int32_t>());
  }
  const json& merges = m["merges"];
  for (size_t i = 0; i < merges.size(); ++i) {
    std::string key;
    if (merges[i].is_string()) {
      key = merges[i].get<std::string>();
      if (key.find(' ') == std::string::npos || key.find(' ') != key.rfind(' '))
        return bad("model.merges[" + std::to_string(i) + "]", "expected \"left right\"");
    } else if (merges[i].is_array() && merges[i].size() == 2 && merges[i][0].is_string() &&
               merges[i][1].is_string()) {
      key = merges[i][0].get<std::string>() + " " + merges[i][1].get<std::string>();
    } else {
      return bad("model.merges[" + std::to_string(i) + "]", "expected \"left right\" or [l, r]");
    }
    t->ranks_.emplace(std::move(key), static_cast<int>(i));  // the first rank of a pair wins
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    const auto it = t->vocab_.find(m["unk_token"].get<std::string>());
    if (it != t->vocab_.end()) t->unk_ = it->second;
  }

  std::vector<std::pair<int32_t, std::string>> added;  // id, content
  std::vector<bool> special;
  if (j.contains("added_tokens")) {
    if (!j["added_tokens"].is_array()) return bad("added_tokens", "expected an array");
    for (size_t i = 0; i < j["added_tokens"].size(); ++i) {
      const json& a = j["added_tokens"][i];
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          a["id"].get<int64_t>() < 0 || a["id"].get<int64_t>() > kMaxId || !a.contains("content") ||
          !a["content"].is_string() || a["content"].get<std::string>().empty())
        return bad("added_tokens[" + std::to_string(i) + "]",
                   "expected {\"id\": N, \"content\": non-empty string}");
      added.emplace_back(a["id"].get<int32_t>(), a["content"].get<std::string>());
      bool is_special = false;
      EPARA_RETURN_IF_ERROR(
          GetField(a, "special", path, "added_tokens[" + std::to_string(i) + "]", &is_special));
      special.push_back(is_special);
      max_id = std::max(max_id, added.back().first);
    }
  }

  t->pieces_.assign(static_cast<size_t>(max_id) + 1, "");
  for (const auto& [token, id] : t->vocab_) t->pieces_[id] = TokenBytes(token);
  for (size_t i = 0; i < added.size(); ++i) {
    const auto& [id, content] = added[i];
    t->pieces_[id] = special[i] ? "" : content;
    t->added_.emplace_back(content, id);
  }
  std::sort(t->added_.begin(), t->added_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  const auto id_of = [&](const std::string& s) -> int32_t {
    for (const auto& [content, id] : t->added_)
      if (content == s) return id;
    const auto it = t->vocab_.find(s);
    return it == t->vocab_.end() ? -1 : it->second;
  };

  EPARA_RETURN_IF_ERROR(PreTokenizer::FromJson(
      j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), path, &t->pre_));

  if (j.contains("post_processor")) {
    const std::string bos = LeadingTemplateToken(j["post_processor"]);
    if (!bos.empty() && (t->bos_ = id_of(bos)) < 0)
      return bad("post_processor", "template token '" + bos + "' is not in the vocabulary");
  }
  if (config.is_object() && config.contains("eos_token"))
    t->eos_ = id_of(TokenString(config["eos_token"]));
  *out = std::move(t);
  return Status::Ok();
}

std::vector<std::string> BpeTokenizer::PreTokenize(std::string_view text) const {
  std::vector<std::string> words;
  pre_->Split(text, &words);
  return words;
}

std::vector<int32_t> BpeTokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  for (const std::string& word : PreTokenize(text)) EncodeWord(word, &ids);
  return ids;
}

void BpeTokenizer::EncodeWord(const std::string& raw, std::vector<int32_t>* ids) const {
  if (raw.empty()) return;
  // The word in byte-level characters; symbols start as one character (one raw byte) each and
  // are linked; merged pairs are found through a heap ordered by (rank, position) and checked
  // against the current symbols when popped.
  struct Symbol {
    size_t start, len;
    int prev, next;
  };
  std::string word;
  std::vector<Symbol> sym;
  for (unsigned char c : raw) {
    const int i = static_cast<int>(sym.size());
    sym.push_back({word.size(), ByteLevelChar(c).size(), i - 1, i + 1});
    word += ByteLevelChar(c);
  }
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) return ids->push_back(it->second);
  }
  sym.back().next = -1;
  struct Candidate {
    int rank, left;
    size_t left_len, right_len;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  std::string key;
  const auto consider = [&](int l) {
    if (l < 0 || sym[l].next < 0) return;
    const Symbol &a = sym[l], &b = sym[a.next];
    key.assign(word, a.start, a.len);
    key += ' ';
    key.append(word, b.start, b.len);
    if (const auto it = ranks_.find(key); it != ranks_.end())
      heap.push({it->second, l, a.len, b.len});
  };
  for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) consider(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& a = sym[c.left];
    if (a.len != c.left_len || a.next < 0 || sym[a.next].len != c.right_len) continue;  // stale
    Symbol& b = sym[a.next];
    a.len += b.len;
    b.len = 0;  // dead
    a.next = b.next;
    if (a.next >= 0) sym[a.next].prev = c.left;
    consider(a.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0; i = sym[i].next) {
    const std::string piece = word.substr(sym[i].start, sym[i].len);
    if (const auto it = vocab_.find(piece); it != vocab_.end()) {
      ids->push_back(it->second);
      continue;
    }
    // Not in the vocabulary (only with a vocabulary that lacks some byte characters).
    if (unk_ >= 0) ids->push_back(unk_);
  }
}

std::string BpeTokenizer::Piece(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(pieces_.size())) return "";
  return pieces_[id];
}

}  // namespace epara::llm
