// EventHttpServer: plain HTTP/1.1 without a thread per connection (issue 27: connection
// exhaustion, slowloris). One event thread (epoll) accepts connections and reads each request until
// its head and body are complete; only then does a worker take it, run the handler, write the
// response and hand a keep-alive connection back. Idle, slow and half-open connections cost a
// descriptor and a buffer, never a thread, and deadlines close them:
//   head_timeout   a request's head must be complete this long after it began (a new connection
//                  must send its first request within it);
//   read_timeout   a body must make progress at least this often;
//   keep_alive     an idle connection between requests is closed after this.
// Limits: max_connections in all and max_per_address from one client address (beyond: closed at
// accept); heads over max_head_bytes get 431, bodies over max_body_bytes 413. Requests waiting for
// a worker beyond max_queued are answered 503 by the event thread.
//
// Responses: Content-Length, or chunked when the handler streams (HttpResponse::stream); the
// handler's request carries the connection's socket (HttpRequest::socket) for api/stream_pipe.h.
// Lifecycle: Start -> StopAccepting (closes the listening socket) -> Stop (every request already
// read is answered; idle connections are closed).
//
// HTTPS (EventServerOptions::tls): the event thread runs each TLS handshake without blocking (a
// handshake not finished within head_timeout closes the connection, so half-open TLS clients cost
// no thread either), reads requests through the session, and a worker writes the answer through
// it. HttpRequest::socket is then -1 (api/stream_pipe.h cannot write raw bytes into a TLS
// session; streams go through the response's ChunkWriter).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "api/tls_stream.h"
#include "core/status.h"

namespace epara::api {

struct EventServerOptions {
  int threads = 64;  // workers: requests handled at once
  int64_t max_body_bytes = 64 << 20;
  size_t max_head_bytes = 64 << 10;
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds keep_alive{5000};
  std::chrono::milliseconds write_timeout{30000};
  // After an answer on a keep-alive connection, how long its worker waits for the next request
  // before handing the connection back to the event thread (saves two thread hand-offs per
  // request for clients that send back to back; 0: always hand back).
  std::chrono::microseconds linger{1000};
  int max_connections = 16384;
  int max_per_address = 4096;
  int max_queued = 4096;
  // HTTPS with this context (api/tls_stream.h); null: plain HTTP.
  std::shared_ptr<TlsContext> tls;
};

class EventHttpServer {
 public:
  // Runs on a worker for every complete request; fills the response (and may stream).
  using Handler = std::function<void(HttpRequest& request, HttpResponse* response)>;
  EventHttpServer(EventServerOptions options, Handler handler);
  ~EventHttpServer();  // Stop()

  // Binds host:port (0: any free port) and starts the threads. Unavailable when it cannot bind.
  Status Start(const std::string& host, int port, int* bound_port);
  void StopAccepting();
  void Stop();
  // Connections open now (tests).
  int open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace epara::api
