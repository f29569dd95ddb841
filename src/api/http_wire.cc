#include "api/http_wire.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace epara::api {
namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (method and header names).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 ||
        std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

WireParse Bad(int code, const std::string& message, int* status, std::string* why) {
  *status = code;
  *why = message;
  return WireParse::kBad;
}

}  // namespace

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

void ParseQueryString(std::string_view s, std::multimap<std::string, std::string>* out) {
  while (!s.empty()) {
    const size_t amp = s.find('&');
    const std::string_view pair = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out->emplace(UrlDecode(pair.substr(0, eq), true), eq == std::string_view::npos
                                                          ? std::string()
                                                          : UrlDecode(pair.substr(eq + 1), true));
  }
}

WireParse ParseRequestHead(std::string_view data, size_t max_head_bytes, int64_t max_body_bytes,
                           WireRequest* out, size_t* head_bytes, int* status, std::string* why) {
  // Blank lines before a request line are ignored (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < data.size() && data[start] == '\r' && data[start + 1] == '\n') start += 2;
  const size_t end = data.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (data.size() > max_head_bytes)
      return Bad(431, "request head exceeds " + std::to_string(max_head_bytes) + " bytes", status,
                 why);
    return WireParse::kIncomplete;
  }
  if (end + 4 > max_head_bytes)
    return Bad(431, "request head exceeds " + std::to_string(max_head_bytes) + " bytes", status,
               why);
  *head_bytes = end + 4;
  WireRequest r;
  std::string_view head = data.substr(start, end - start);
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return Bad(400, "malformed request line", status, why);
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Bad(400, "malformed method", status, why);
  if (target.empty() || target.front() != '/')
    return Bad(400, "the request target must be an absolute path", status, why);
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 32 || c == 127)
      return Bad(400, "malformed request target", status, why);
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return Bad(505, "HTTP version not supported", status, why);
  r.method = std::string(method);
  r.version = std::string(version);
  const size_t q = target.find('?');
  r.path = UrlDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) ParseQueryString(target.substr(q + 1), &r.query);
  bool has_length = false;
  std::string connection;
  while (!head.empty()) {
    const size_t e = head.find("\r\n");
    const std::string_view h = head.substr(0, e);
    head = e == std::string_view::npos ? std::string_view() : head.substr(e + 2);
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || !IsToken(h.substr(0, colon)))
      return Bad(400, "malformed header line", status, why);
    const std::string_view name = h.substr(0, colon), value = Trim(h.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 32 && c != '\t') || c == 127)
        return Bad(400, "control character in a header value", status, why);
    if (EqualsNoCase(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return Bad(400, "malformed Content-Length", status, why);
      const int64_t n = std::stoll(std::string(value));
      if (has_length && n != r.content_length)
        return Bad(400, "conflicting Content-Length headers", status, why);
      has_length = true;
      r.content_length = n;
    } else if (EqualsNoCase(name, "Transfer-Encoding")) {
      if (!EqualsNoCase(value, "chunked"))
        return Bad(501, "only the chunked transfer coding is supported", status, why);
      r.chunked = true;
    } else if (EqualsNoCase(name, "Connection")) {
      connection = std::string(value);
    } else if (EqualsNoCase(name, "Expect")) {
      if (!EqualsNoCase(value, "100-continue"))
        return Bad(417, "only Expect: 100-continue is supported", status, why);
      r.expect_continue = true;
    }
    r.headers.emplace(std::string(name), std::string(value));
  }
  if (r.chunked && has_length)
    return Bad(400, "both Content-Length and Transfer-Encoding", status, why);
  if (r.content_length > max_body_bytes)
    return Bad(413, "request body exceeds the configured limit", status, why);
  std::string lower = connection;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r.keep_alive = r.version == "HTTP/1.1" ? lower.find("close") == std::string::npos
                                         : lower.find("keep-alive") != std::string::npos;
  *out = std::move(r);
  return WireParse::kOk;
}

WireParse DecodeChunkedBody(std::string_view data, int64_t max_body_bytes, std::string* body,
                            size_t* consumed, int* status, std::string* why) {
  std::string out;
  size_t at = 0;
  for (;;) {
    const size_t eol = data.find("\r\n", at);
    if (eol == std::string_view::npos) {
      if (data.size() - at > 64) return Bad(400, "malformed chunk size line", status, why);
      return WireParse::kIncomplete;
    }
    std::string_view size_text = data.substr(at, eol - at);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
    size_text = Trim(size_text);
    if (size_text.empty() || size_text.size() > 15)
      return Bad(400, "malformed chunk size", status, why);
    int64_t n = 0;
    for (char c : size_text) {
      const int v = HexValue(c);
      if (v < 0) return Bad(400, "malformed chunk size", status, why);
      n = n * 16 + v;
    }
    at = eol + 2;
    if (n == 0) {  // trailers up to the blank line
      for (;;) {
        const size_t t = data.find("\r\n", at);
        if (t == std::string_view::npos) {
          if (data.size() - at > 8192) return Bad(400, "chunked trailers too long", status, why);
          return WireParse::kIncomplete;
        }
        const bool blank = t == at;
        at = t + 2;
        if (blank) break;
      }
      *body = std::move(out);
      *consumed = at;
      return WireParse::kOk;
    }
    if (static_cast<int64_t>(out.size()) + n > max_body_bytes)
      return Bad(413, "request body exceeds the configured limit", status, why);
    if (data.size() < at + static_cast<size_t>(n) + 2) return WireParse::kIncomplete;
    out.append(data.data() + at, static_cast<size_t>(n));
    at += static_cast<size_t>(n);
    if (data.substr(at, 2) != "\r\n") return Bad(400, "malformed chunk", status, why);
    at += 2;
  }
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

std::string ResponseHead(int status,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         bool chunked, size_t content_length, bool keep_alive) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  for (const auto& [k, v] : headers) h += k + ": " + v + "\r\n";
  if (chunked)
    h += "Transfer-Encoding: chunked\r\n";
  else
    h += "Content-Length: " + std::to_string(content_length) + "\r\n";
  h += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return h;
}

std::string ChunkFrame(std::string_view data) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string frame = size;
  frame.append(data);
  frame += "\r\n";
  return frame;
}

}  // namespace epara::api
