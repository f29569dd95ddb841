// HTTP/1.1 on the wire, as the event-driven server (api/http_event_server.h) reads and writes it:
// request heads, chunked request bodies, URL decoding, response heads and chunk frames. Pure
// functions over bytes (no I/O), so they are unit-tested and fuzzed on their own. Parsing never
// trusts its input: every malformed head is an error with the HTTP status to answer it with.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace epara::api {

struct WireRequest {
  std::string method;
  std::string path;                                 // percent-decoded, without the query
  std::string version;                              // "HTTP/1.1" | "HTTP/1.0"
  std::multimap<std::string, std::string> query;    // decoded ('+' is a space)
  std::multimap<std::string, std::string> headers;  // names as sent
  int64_t content_length = 0;                       // 0 without a body
  bool chunked = false;    // Transfer-Encoding: chunked (content_length unused)
  bool keep_alive = true;  // what the client asked for (HTTP/1.0: only with keep-alive)
  bool expect_continue = false;
};

enum class WireParse { kIncomplete, kOk, kBad };

// Parses the head at the start of `data` (request line and headers up to the blank line).
// kOk: *head_bytes is its length. kIncomplete: no blank line yet and `data` is within
// `max_head_bytes`. kBad: *status (400, 413 for a declared body over `max_body_bytes`, 431 for a
// head over max_head_bytes, 501 for an unsupported transfer coding, 505 for another HTTP version)
// and *why say what to answer.
WireParse ParseRequestHead(std::string_view data, size_t max_head_bytes, int64_t max_body_bytes,
                           WireRequest* out, size_t* head_bytes, int* status, std::string* why);

// Decodes a chunked body at the start of `data` (trailers ignored). kOk: *body is the payload and
// *consumed the bytes it took. kBad: malformed, or the payload exceeds max_body_bytes (*status
// 400 / 413, *why).
WireParse DecodeChunkedBody(std::string_view data, int64_t max_body_bytes, std::string* body,
                            size_t* consumed, int* status, std::string* why);

// %XX decoding; with `plus_is_space` (query strings) '+' becomes ' '. Malformed escapes are kept
// as they are.
std::string UrlDecode(std::string_view s, bool plus_is_space);

// "a=1&b=x%20y" -> {a: 1, b: "x y"}.
void ParseQueryString(std::string_view s, std::multimap<std::string, std::string>* out);

// "HTTP/1.1 200 OK\r\n" + headers + "\r\n". With `chunked`, Transfer-Encoding: chunked instead of
// Content-Length: content_length.
std::string ResponseHead(int status,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         bool chunked, size_t content_length, bool keep_alive);

// One chunk frame of a chunked body ("1a\r\n" + data + "\r\n"); the last is "0\r\n\r\n".
std::string ChunkFrame(std::string_view data);

const char* ReasonPhrase(int status);

}  // namespace epara::api
