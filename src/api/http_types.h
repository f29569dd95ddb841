// Transport-neutral HTTP request/response used by epara's handlers. The HTTP library is hidden
// behind HttpServer (src/api/http_server.cc); handlers never see it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace epara::api {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
  std::vector<std::string> path_params;  // regex captures of the route, in order
  std::multimap<std::string, std::string> query;
  std::multimap<std::string, std::string> headers;  // names as sent
  // Finds the connection's socket, for a streamed response that sends chunk frames itself
  // (api/stream_pipe.h): -1 when the request was dispatched in-process or is not HTTP/1.1, or the
  // socket was not identified. Callable only during the handler call (it reads the library's
  // request); the first call on a connection scans the process's descriptors. Empty in
  // requests built by hand (tests, Dispatch).
  std::function<int()> socket;

  // First query value of `key`, or `fallback`.
  std::string Query(const std::string& key, const std::string& fallback = "") const;
  // Case-insensitive header lookup; empty if absent.
  std::string Header(std::string_view name) const;
};

// Writes one chunk of a streamed body; returns false once the client has gone away.
using ChunkWriter = std::function<bool(std::string_view chunk)>;

// What a streamed body has delivered, counted by its producer: a stream whose chunks leave on the
// producer's own thread (api/stream_pipe.h) bypasses the ChunkWriter, so only the producer knows
// when its first content went out and how much followed (an LLM's first token and its tokens; a
// chat stream's role event is not content). Thread-safe.
struct StreamProgress {
  using Clock = std::chrono::steady_clock;
  // `n` content units (tokens) were sent now; the first call stamps the first one's time.
  void Sent(int64_t n = 1) {
    int64_t none = -1;
    first_ns.compare_exchange_strong(none, Clock::now().time_since_epoch().count());
    units.fetch_add(n);
  }
  std::atomic<int64_t> first_ns{-1};  // Clock's ticks at the first content; -1: none yet
  std::atomic<int64_t> units{0};
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is streamed (chunked): the server calls it once from the connection's
  // thread; it writes chunks until done or until a write returns false (client gone).
  std::function<void(const ChunkWriter&)> stream;
  // Set by a route whose stream counts its own content (StreamProgress); observers read it once
  // the stream has ended instead of counting the ChunkWriter's chunks.
  std::shared_ptr<StreamProgress> progress;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse*)>;

}  // namespace epara::api
