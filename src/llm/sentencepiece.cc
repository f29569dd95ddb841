#include "llm/sentencepiece.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <queue>
#include <sstream>

#include "formats/protobuf_wire.h"

namespace epara::llm {
namespace {

using formats::ProtoReader;
using formats::WireType;
using PieceType = SentencePieceModel::PieceType;

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's space
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kUnknownSurface = " \xE2\x81\x87 ";
constexpr float kUnknownPenalty = 10.0f;  // unigram: an unknown character scores min - 10

// Length of the character a lead byte starts (SentencePiece's rule: by the high nibble).
size_t OneCharLen(unsigned char c) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[c >> 4];
}

// Length of a well-formed UTF-8 character at the start of `s`, or 0.
size_t ValidCharLen(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

Status ParsePiece(std::string_view bytes, size_t offset, SentencePieceModel::Piece* p) {
  ProtoReader r(bytes, offset);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type{};
    EPARA_RETURN_IF_ERROR(r.Key(&field, &type));
    if (field == 1 && type == WireType::kLen) {
      std::string_view text;
      EPARA_RETURN_IF_ERROR(r.Bytes(&text));
      p->text = std::string(text);
    } else if (field == 2 && type == WireType::kFixed32) {
      EPARA_RETURN_IF_ERROR(r.Float(&p->score));
    } else if (field == 3 && type == WireType::kVarint) {
      uint64_t t = 0;
      EPARA_RETURN_IF_ERROR(r.Varint(&t));
      if (t < 1 || t > 6)
        return InvalidArgument("piece type " + std::to_string(t) + " is not a SentencePiece type");
      p->type = static_cast<PieceType>(t);
    } else {
      EPARA_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  return Status::Ok();
}

Status ParseTrainerSpec(std::string_view bytes, size_t offset, SentencePieceModel* m) {
  ProtoReader r(bytes, offset);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type{};
    EPARA_RETURN_IF_ERROR(r.Key(&field, &type));
    if (type != WireType::kVarint) {
      EPARA_RETURN_IF_ERROR(r.Skip(type));
      continue;
    }
    uint64_t v = 0;
    int32_t i = 0;
    switch (field) {
      case 3:  // model_type
        EPARA_RETURN_IF_ERROR(r.Varint(&v));
        if (v < 1 || v > 4) return InvalidArgument("model_type " + std::to_string(v) + " unknown");
        m->algorithm = static_cast<SentencePieceModel::Algorithm>(v);
        break;
      case 24:
        EPARA_RETURN_IF_ERROR(r.Bool(&m->treat_whitespace_as_suffix));
        break;
      case 35:
        EPARA_RETURN_IF_ERROR(r.Bool(&m->byte_fallback));
        break;
      case 40:
      case 41:
      case 42:
      case 43:
        EPARA_RETURN_IF_ERROR(r.Int32(&i));
        (field == 40   ? m->unk_id
         : field == 41 ? m->bos_id
         : field == 42 ? m->eos_id
                       : m->pad_id) = i;
        break;
      default:
        EPARA_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  return Status::Ok();
}

Status ParseNormalizerSpec(std::string_view bytes, size_t offset, SentencePieceModel* m) {
  ProtoReader r(bytes, offset);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type{};
    EPARA_RETURN_IF_ERROR(r.Key(&field, &type));
    std::string_view s;
    if (field == 1 && type == WireType::kLen) {
      EPARA_RETURN_IF_ERROR(r.Bytes(&s));
      m->normalizer_name = std::string(s);
    } else if (field == 2 && type == WireType::kLen) {
      EPARA_RETURN_IF_ERROR(r.Bytes(&s));
      m->has_normalization_map = !s.empty();
    } else if (field == 3 && type == WireType::kVarint) {
      EPARA_RETURN_IF_ERROR(r.Bool(&m->add_dummy_prefix));
    } else if (field == 4 && type == WireType::kVarint) {
      EPARA_RETURN_IF_ERROR(r.Bool(&m->remove_extra_whitespaces));
    } else if (field == 5 && type == WireType::kVarint) {
      EPARA_RETURN_IF_ERROR(r.Bool(&m->escape_whitespaces));
    } else {
      EPARA_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ParseSentencePieceModel(std::string_view bytes, SentencePieceModel* out) {
  SentencePieceModel m;
  ProtoReader r(bytes);
  while (!r.done()) {
    uint32_t field = 0;
    WireType type{};
    EPARA_RETURN_IF_ERROR(r.Key(&field, &type));
    if (type == WireType::kLen && field >= 1 && field <= 3) {
      std::string_view sub;
      EPARA_RETURN_IF_ERROR(r.Bytes(&sub));
      const size_t body = r.offset() - sub.size();
      if (field == 1) {
        SentencePieceModel::Piece p;
        EPARA_RETURN_IF_ERROR(ParsePiece(sub, body, &p));
        m.pieces.push_back(std::move(p));
      } else if (field == 2) {
        EPARA_RETURN_IF_ERROR(ParseTrainerSpec(sub, body, &m));
      } else {
        EPARA_RETURN_IF_ERROR(ParseNormalizerSpec(sub, body, &m));
      }
    } else {
      EPARA_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  const int n = static_cast<int>(m.pieces.size());
  if (n == 0) return InvalidArgument("no pieces: not a SentencePiece model");
  if (m.unk_id < 0 || m.unk_id >= n || m.pieces[m.unk_id].type != PieceType::kUnknown)
    return InvalidArgument("unk_id " + std::to_string(m.unk_id) + " is not an unknown piece");
  for (int32_t id : {m.bos_id, m.eos_id})
    if (id >= n) return InvalidArgument("bos/eos id " + std::to_string(id) + " out of range");
  *out = std::move(m);
  return Status::Ok();
}

Status SentencePieceTokenizer::Create(SentencePieceModel model,
                                      std::unique_ptr<SentencePieceTokenizer>* out) {
  using Algorithm = SentencePieceModel::Algorithm;
  if (model.algorithm != Algorithm::kBpe && model.algorithm != Algorithm::kUnigram)
    return {StatusCode::kUnimplemented,
            "SentencePiece model types WORD and CHAR are not supported"};
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  std::fill(std::begin(t->byte_ids_), std::end(t->byte_ids_), -1);
  bool first_normal = true;
  for (int32_t id = 0; id < static_cast<int32_t>(model.pieces.size()); ++id) {
    const auto& p = model.pieces[id];
    switch (p.type) {
      case PieceType::kNormal:
        t->min_score_ = first_normal ? p.score : std::min(t->min_score_, p.score);
        t->max_score_ = first_normal ? p.score : std::max(t->max_score_, p.score);
        first_normal = false;
        [[fallthrough]];
      case PieceType::kUserDefined:
      case PieceType::kUnused:
        if (p.text.empty()) return InvalidArgument("piece " + std::to_string(id) + " is empty");
        t->ids_.emplace(p.text, id);
        t->max_piece_bytes_ = std::max(t->max_piece_bytes_, p.text.size());
        if (p.type == PieceType::kUserDefined) t->user_defined_.push_back(p.text);
        break;
      case PieceType::kByte: {
        unsigned v = 0;
        if (p.text.size() != 6 || std::sscanf(p.text.c_str(), "<0x%2X>", &v) != 1)
          return InvalidArgument("byte piece " + std::to_string(id) + " '" + p.text +
                                 "' is not <0xXX>");
        t->byte_ids_[v] = id;
        t->reserved_.emplace(p.text, id);
        break;
      }
      case PieceType::kControl:
      case PieceType::kUnknown:
        t->reserved_.emplace(p.text, id);
        if (!p.text.empty()) t->specials_.emplace_back(p.text, id);
        break;
    }
  }
  if (model.byte_fallback)
    for (int b = 0; b < 256; ++b)
      if (t->byte_ids_[b] < 0)
        return InvalidArgument("byte_fallback is set but byte piece " + std::to_string(b) +
                               " is missing");
  // Longest first, so MatchUserDefined and EncodeWithSpecialTokens find the longest match.
  std::stable_sort(t->specials_.begin(), t->specials_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::stable_sort(t->user_defined_.begin(), t->user_defined_.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  t->model_ = std::move(model);
  *out = std::move(t);
  return Status::Ok();
}

Status SentencePieceTokenizer::Load(const std::string& path,
                                    std::unique_ptr<SentencePieceTokenizer>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  SentencePieceModel m;
  if (Status s = ParseSentencePieceModel(ss.str(), &m); !s.ok()) return s.WithContext(path);
  if (Status s = Create(std::move(m), out); !s.ok()) return s.WithContext(path);
  return Status::Ok();
}

std::string SentencePieceTokenizer::Normalize(std::string_view text) const {
  const auto& m = model_;
  const std::string_view space = m.escape_whitespaces ? kSpaceSymbol : " ";
  std::string out;
  // One character at a time; malformed UTF-8 becomes U+FFFD, one byte consumed.
  const auto next = [&](std::string_view s, size_t* consumed) -> std::string_view {
    const size_t n = ValidCharLen(s);
    *consumed = n == 0 ? 1 : n;
    return n == 0 ? kReplacement : s.substr(0, n);
  };
  if (m.remove_extra_whitespaces)
    while (!text.empty() && text[0] == ' ') text.remove_prefix(1);
  if (text.empty()) return out;
  if (!m.treat_whitespace_as_suffix && m.add_dummy_prefix) out += space;
  bool prev_space = m.remove_extra_whitespaces;
  while (!text.empty()) {
    size_t consumed = 0;
    std::string_view c = next(text, &consumed);
    text.remove_prefix(consumed);
    const bool is_space = c == " ";
    if (is_space && prev_space) continue;
    if (is_space)
      out += space;
    else
      out += c;
    prev_space = m.remove_extra_whitespaces && is_space;
  }
  if (m.remove_extra_whitespaces)
    while (out.size() >= space.size() && std::string_view(out).ends_with(space))
      out.erase(out.size() - space.size());
  if (m.treat_whitespace_as_suffix && m.add_dummy_prefix) out += space;
  return out;
}

size_t SentencePieceTokenizer::MatchUserDefined(std::string_view s) const {
  for (const std::string& u : user_defined_)
    if (s.starts_with(u)) return u.size();
  return 0;
}

int32_t SentencePieceTokenizer::Lookup(std::string_view piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

void SentencePieceTokenizer::EncodeBpe(
    std::string_view text, std::vector<std::pair<std::string_view, int32_t>>* out) const {
  struct Symbol {
    int prev, next;
    std::string_view piece;
    bool frozen;
  };
  std::vector<Symbol> sym;
  for (size_t at = 0; at < text.size();) {
    size_t n = MatchUserDefined(text.substr(at));
    const bool frozen = n > 0;
    if (!frozen) n = std::min(text.size() - at, OneCharLen(static_cast<unsigned char>(text[at])));
    const int i = static_cast<int>(sym.size());
    sym.push_back({i - 1, i + 1, text.substr(at, n), frozen});
    at += n;
  }
  if (sym.empty()) return;
  sym.back().next = -1;
  struct Pair {
    float score;
    int left, right;
    size_t size;
  };
  // Highest score first; ties go to the leftmost pair.
  const auto worse = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> agenda(worse);
  const auto maybe_add = [&](int l, int r) {
    if (l < 0 || r < 0 || sym[l].frozen || sym[r].frozen) return;
    const std::string_view merged(sym[l].piece.data(), sym[l].piece.size() + sym[r].piece.size());
    const int32_t id = Lookup(merged);
    if (id < 0 || model_.pieces[id].type == PieceType::kUnused) return;
    agenda.push({model_.pieces[id].score, l, r, merged.size()});
  };
  for (size_t i = 1; i < sym.size(); ++i) maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& l = sym[top.left];
    Symbol& r = sym[top.right];
    // Stale: one side has been merged away or grown since this pair was queued.
    if (l.piece.empty() || r.piece.empty() || l.piece.size() + r.piece.size() != top.size) continue;
    l.piece = std::string_view(l.piece.data(), top.size);
    r.piece = {};
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = top.left;
    maybe_add(l.prev, top.left);
    maybe_add(top.left, l.next);
  }
  for (int i = 0; i >= 0; i = sym[i].next) {
    const std::string_view p = sym[i].piece;
    auto rv = reserved_.find(p);
    const int32_t id = rv != reserved_.end() ? rv->second : Lookup(p);
    out->emplace_back(p, id < 0 ? model_.unk_id : id);
  }
}

void SentencePieceTokenizer::EncodeUnigram(
    std::string_view text, std::vector<std::pair<std::string_view, int32_t>>* out) const {
  struct Node {
    int32_t id = -1;
    float score = 0;
    int starts_at = -1;
  };
  const size_t size = text.size();
  std::vector<Node> best(size + 1);
  const float unk_score = min_score_ - kUnknownPenalty;
  for (size_t start = 0; start < size;) {
    const float till_here = best[start].score;
    const size_t char_len =
        std::min(size - start, OneCharLen(static_cast<unsigned char>(text[start])));
    bool has_single = false;
    const size_t limit = std::min(size - start, max_piece_bytes_);
    for (size_t len = 1; len <= limit; ++len) {
      const int32_t id = Lookup(text.substr(start, len));
      if (id < 0 || model_.pieces[id].type == PieceType::kUnused) continue;
      const bool user = model_.pieces[id].type == PieceType::kUserDefined;
      const double score = user ? len * max_score_ - 0.1 : model_.pieces[id].score;
      const float candidate = static_cast<float>(score + till_here);
      Node& target = best[start + len];
      if (target.starts_at < 0 || candidate > target.score) target = {id, candidate, int(start)};
      if (len == char_len) has_single = true;
    }
    if (!has_single) {
      Node& target = best[start + char_len];
      const float candidate = unk_score + till_here;
      if (target.starts_at < 0 || candidate > target.score)
        target = {model_.unk_id, candidate, int(start)};
    }
    start += char_len;
  }
  const size_t first = out->size();
  for (size_t end = size; end > 0;) {
    const Node& n = best[end];
    out->emplace_back(text.substr(n.starts_at, end - n.starts_at), n.id);
    end = static_cast<size_t>(n.starts_at);
  }
  std::reverse(out->begin() + static_cast<std::ptrdiff_t>(first), out->end());
}

std::vector<int32_t> SentencePieceTokenizer::Encode(std::string_view text) const {
  const std::string normalized = Normalize(text);
  std::vector<std::pair<std::string_view, int32_t>> pieces;
  if (model_.algorithm == SentencePieceModel::Algorithm::kBpe)
    EncodeBpe(normalized, &pieces);
  else
    EncodeUnigram(normalized, &pieces);
  std::vector<int32_t> ids;
  ids.reserve(pieces.size());
  for (const auto& [piece, id] : pieces) {
    if (id == model_.unk_id && model_.byte_fallback) {
      for (unsigned char b : piece) ids.push_back(byte_ids_[b]);
    } else if (id == model_.unk_id && !ids.empty() && ids.back() == model_.unk_id) {
      continue;  // like libsentencepiece: a run of unknown pieces is one <unk>
    } else {
      ids.push_back(id);
    }
  }
  return ids;
}

std::string SentencePieceTokenizer::Piece(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return "";
  const auto& p = model_.pieces[id];
  switch (p.type) {
    case PieceType::kControl:
      return "";
    case PieceType::kUnknown:
      return std::string(kUnknownSurface);
    case PieceType::kByte:
      return std::string(1, static_cast<char>(std::stoi(p.text.substr(3, 2), nullptr, 16)));
    default:
      break;
  }
  if (!model_.escape_whitespaces) return p.text;
  std::string out;
  std::string_view s = p.text;
  for (size_t at; (at = s.find(kSpaceSymbol)) != std::string_view::npos;) {
    out.append(s.substr(0, at)).push_back(' ');
    s.remove_prefix(at + kSpaceSymbol.size());
  }
  return out.append(s);
}

}  // namespace epara::llm
