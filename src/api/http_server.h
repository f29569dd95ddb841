// HttpServer: the HTTP front end. Routes are regexes matched against the whole path; captures
// become HttpRequest::path_params. Handlers run on a bounded pool of threads and may block. Errors
// (unknown route, body too large, malformed request, handler exception) are epara's JSON error
// bodies. HTTP and HTTPS (with a certificate and key, HttpServerOptions::tls_*) run on
// api/http_event_server.h: an event loop reads requests and runs TLS handshakes; no thread is tied
// to an idle, slow or half-open connection.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/http_types.h"
#include "core/status.h"

namespace epara::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                    // 0 = any free port
  int threads = 64;                   // concurrent connections being served
  size_t max_body_bytes = 64u << 20;  // larger bodies get 413
  int read_timeout_s = 30;
  // Plain HTTP (api/http_event_server.h): a request's head must be complete this long after it
  // began (else 408 and the connection is closed); an idle keep-alive connection is closed after
  // keep_alive_ms.
  int head_timeout_ms = 10000;
  int keep_alive_ms = 5000;
  // cpp-httplib's thread-per-connection server instead (benchmarks compare them).
  bool thread_per_connection = false;
  // HTTPS: a PEM certificate (chain) and its private key, both or neither. With client_ca as well,
  // clients must present a certificate from that CA (mutual TLS). Checked by Start().
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()

  // REQUIRES: before Start().
  void Route(const std::string& method, const std::string& path_regex, HttpHandler handler);
  // Runs before every route's handler for requests that arrived over HTTP (not for Dispatch):
  // false means refused, with the answer in the response. REQUIRES: before Start().
  using Guard = std::function<bool(const HttpRequest&, HttpResponse*)>;
  void SetGuard(Guard guard) { *guard_ = std::move(guard); }
  // Runs after every route's handler for requests that arrived over HTTP (not for Dispatch), with
  // the time the request reached its handler; it may wrap the response's stream (to see when its
  // chunks go out). REQUIRES: before Start().
  using Observer = std::function<void(const HttpRequest&, HttpResponse*,
                                      std::chrono::steady_clock::time_point started)>;
  void SetObserver(Observer observer) { *observer_ = std::move(observer); }

  // Runs `request` through the matching route on the calling thread, as if it had arrived over
  // HTTP (forwarded requests from peers); 404 with epara's error body when no route matches.
  void Dispatch(HttpRequest request, HttpResponse* response) const;

  // Binds and starts serving on a background thread. Unavailable if the address cannot be bound.
  Status Start();
  // The bound port (after Start()).
  int port() const { return port_; }
  // Closes the listening socket; handlers in flight keep running. Idempotent.
  void StopAccepting();
  // StopAccepting(), then waits for every handler in flight to answer. Idempotent.
  void Stop();

 private:
  // Routes a request that arrived on the event-driven server: guard, handler, observer; 404 when
  // no route matches; 500 for a handler's exception.
  void Handle(HttpRequest& request, HttpResponse* response) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HttpServerOptions options_;
  std::shared_ptr<Guard> guard_ = std::make_shared<Guard>();  // shared with the route adapters
  std::shared_ptr<Observer> observer_ = std::make_shared<Observer>();  // the same
  int port_ = 0;
  std::thread thread_;
};

}  // namespace epara::api
