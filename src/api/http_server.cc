#include "api/http_server.h"

#include <regex>

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/error_mapping.h"
#include "api/http_event_server.h"
#include "core/thread_name.h"

namespace epara::api {

std::string HttpRequest::Query(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        }))
      return v;
  }
  return "";
}

struct HttpServer::Impl {
  // cpp-httplib's server (thread_per_connection only; an httplib::SSLServer with a certificate);
  // `server` refers to whichever was made.
  std::unique_ptr<httplib::Server> owned;
  httplib::Server& server;
  explicit Impl(const HttpServerOptions& o) : owned(Make(o)), server(*owned) {}
  static std::unique_ptr<httplib::Server> Make(const HttpServerOptions& o) {
    if (!o.thread_per_connection || (o.tls_cert_file.empty() && o.tls_key_file.empty()))
      return std::make_unique<httplib::Server>();
    return std::make_unique<httplib::SSLServer>(
        o.tls_cert_file.c_str(), o.tls_key_file.c_str(),
        o.tls_client_ca_file.empty() ? nullptr : o.tls_client_ca_file.c_str());
  }
  struct LocalRoute {
    std::string method;
    std::regex path;
    HttpHandler handler;
  };
  std::vector<LocalRoute> routes;  // the same routes, for Dispatch() and the event server
  // The route for `request` (its path parameters filled in), or nullptr after a 404 in *response.
  const LocalRoute* Match(HttpRequest& request, HttpResponse* response) const;
  // The event-driven server (no thread per connection), unless thread_per_connection.
  std::unique_ptr<EventHttpServer> event;
};

namespace {

const char* ReasonType(int status) {
  switch (status) {
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 400:
      return "invalid_argument";
    default:
      return status >= 500 ? "internal" : "http_error";
  }
}

// cpp-httplib's pool, with its threads named "ep-http" on first use.
class NamedTaskQueue : public httplib::TaskQueue {
 public:
  explicit NamedTaskQueue(size_t n) : pool_(n) {}
  void enqueue(std::function<void()> fn) override {
    pool_.enqueue([fn = std::move(fn)] {
      thread_local const bool named = [] {
        SetCurrentThreadName("ep-http");
        return true;
      }();
      (void)named;
      fn();
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
};

// Text form of a socket address and its port, as cpp-httplib writes them into a request.
bool AddressOf(const sockaddr_storage& a, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    if (!inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text)) return false;
    *port = ntohs(v4.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    if (!inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text)) return false;
    *port = ntohs(v6.sin6_port);
  } else {
    return false;
  }
  *ip = text;
  return true;
}

// Whether `fd` is the connected socket with the request's two addresses.
bool IsConnectionOf(int fd, const httplib::Request& req) {
  sockaddr_storage peer{}, local{};
  socklen_t peer_len = sizeof peer, local_len = sizeof local;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return false;
  std::string peer_ip, local_ip;
  int peer_port = -1, local_port = -1;
  return AddressOf(peer, &peer_ip, &peer_port) && AddressOf(local, &local_ip, &local_port) &&
         peer_port == req.remote_port && local_port == req.local_port &&
         peer_ip == req.remote_addr && local_ip == req.local_addr;
}

// The socket a request arrived on. cpp-httplib 0.11 does not expose it, but a connection is served
// by one pool thread from its first request to its last, so the thread's last match is checked
// first; otherwise the process's descriptors are scanned. -1 when no socket matches.
int ConnectionSocket(const httplib::Request& req) {
  if (req.version != "HTTP/1.1") return -1;  // the stream is chunked only in HTTP/1.1
  thread_local int last = -1;
  if (last >= 0 && IsConnectionOf(last, req)) return last;
  last = -1;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  const int own = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own) continue;
    if (IsConnectionOf(static_cast<int>(fd), req)) {
      last = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return last;
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(options)), options_(std::move(options)) {
  auto& s = impl_->server;
  const int threads = std::max(1, options_.threads);
  s.new_task_queue = [threads]() -> httplib::TaskQueue* {
    return new NamedTaskQueue(static_cast<size_t>(threads));
  };
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_read_timeout(options_.read_timeout_s, 0);
  s.set_keep_alive_max_count(1000);
  // Without TCP_NODELAY a response written as headers + body can wait ~40 ms for a delayed ACK
  // (Nagle); measured in bench/results/seg_bench.md.
  s.set_tcp_nodelay(true);
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = res.status == 404 ? "no route for " + req.method + " " + req.path
                                            : "HTTP error " + std::to_string(res.status);
        if (res.status == 413) {
          // cpp-httplib caps form-urlencoded bodies at 8 KiB (compile-time constant of the
          // library); curl --data-binary sends that content type unless told otherwise.
          msg = req.get_header_value("Content-Type") == "application/x-www-form-urlencoded"
                    ? "application/x-www-form-urlencoded bodies are limited to 8192 bytes; send "
                      "binary data "
                      "with Content-Type: image/png, image/jpeg or application/octet-stream"
                    : "request body exceeds the configured limit";
        }
        res.set_content(ErrorBody(res.status, ReasonType(res.status), msg), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string msg = "unhandled error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          msg = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(ErrorBody(500, "internal", msg), "application/json");
      });
}

HttpServer::~HttpServer() { Stop(); }

const HttpServer::Impl::LocalRoute* HttpServer::Impl::Match(HttpRequest& request,
                                                            HttpResponse* response) const {
  std::smatch m;
  for (const LocalRoute& r : routes) {
    if (r.method != request.method || !std::regex_match(request.path, m, r.path)) continue;
    request.path_params.clear();
    for (size_t i = 1; i < m.size(); ++i) request.path_params.push_back(m[i].str());
    return &r;
  }
  response->status = 404;
  response->content_type = "application/json";
  response->body =
      ErrorBody(404, ReasonType(404), "no route for " + request.method + " " + request.path);
  return nullptr;
}

void HttpServer::Dispatch(HttpRequest request, HttpResponse* response) const {
  if (const Impl::LocalRoute* r = impl_->Match(request, response)) r->handler(request, response);
}

void HttpServer::Handle(HttpRequest& request, HttpResponse* response) const {
  const auto started = std::chrono::steady_clock::now();
  const Impl::LocalRoute* r = impl_->Match(request, response);
  if (!r) return;
  try {
    if (!*guard_ || (*guard_)(request, response)) r->handler(request, response);
  } catch (const std::exception& e) {
    *response = HttpResponse();
    response->status = 500;
    response->body = ErrorBody(500, "internal", e.what());
  }
  if (*observer_) (*observer_)(request, response, started);
}

void HttpServer::Route(const std::string& method, const std::string& path_regex,
                       HttpHandler handler) {
  impl_->routes.push_back({method, std::regex(path_regex), handler});
  auto adapter = [h = std::move(handler), guard = guard_, observer = observer_](
                     const httplib::Request& req, httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    HttpRequest r;
    r.method = req.method;
    r.path = req.path;
    r.body = req.body;
    r.socket = [&req] { return ConnectionSocket(req); };
    for (size_t i = 1; i < req.matches.size(); ++i) r.path_params.push_back(req.matches[i].str());
    for (const auto& [k, v] : req.params) r.query.emplace(k, v);
    for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
    HttpResponse out;
    if (!*guard || (*guard)(r, &out)) h(r, &out);
    if (*observer) (*observer)(r, &out, started);
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    if (out.stream) {
      auto stream = std::move(out.stream);
      res.set_chunked_content_provider(out.content_type, [stream](size_t, httplib::DataSink& sink) {
        ChunkWriter write = [&sink](std::string_view chunk) {
          return sink.is_writable() && sink.write(chunk.data(), chunk.size());
        };
        stream(write);
        sink.done();
        return true;
      });
    } else {
      res.set_content(std::move(out.body), out.content_type);
    }
  };
  auto& s = impl_->server;
  if (method == "GET")
    s.Get(path_regex, adapter);
  else if (method == "POST")
    s.Post(path_regex, adapter);
  else if (method == "PUT")
    s.Put(path_regex, adapter);
  else if (method == "DELETE")
    s.Delete(path_regex, adapter);
}

Status HttpServer::Start() {
  auto& s = impl_->server;
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty())
    return InvalidArgument("HTTPS needs both a certificate and its private key");
  if (!options_.thread_per_connection) {
    EventServerOptions eo;
    if (!options_.tls_cert_file.empty())
      EPARA_RETURN_IF_ERROR(TlsContext::Create(options_.tls_cert_file, options_.tls_key_file,
                                               options_.tls_client_ca_file, &eo.tls));
    eo.threads = std::max(1, options_.threads);
    eo.max_body_bytes = static_cast<int64_t>(options_.max_body_bytes);
    eo.read_timeout = std::chrono::seconds(options_.read_timeout_s);
    eo.head_timeout = std::chrono::milliseconds(options_.head_timeout_ms);
    eo.keep_alive = std::chrono::milliseconds(options_.keep_alive_ms);
    impl_->event = std::make_unique<EventHttpServer>(
        eo, [this](HttpRequest& r, HttpResponse* out) { Handle(r, out); });
    return impl_->event->Start(options_.host, options_.port, &port_);
  }
  if (!s.is_valid())
    return InvalidArgument("cannot use the HTTPS certificate '" + options_.tls_cert_file +
                           "' with the key '" + options_.tls_key_file + "'" +
                           (options_.tls_client_ca_file.empty()
                                ? std::string()
                                : " and client CA '" + options_.tls_client_ca_file + "'") +
                           ": unreadable, not PEM, or not a pair");
  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
    if (port_ <= 0) return Unavailable("cannot bind " + options_.host + " on any port");
  } else {
    if (!s.bind_to_port(options_.host, options_.port))
      return Unavailable("cannot bind " + options_.host + ":" + std::to_string(options_.port));
    port_ = options_.port;
  }
  thread_ = std::thread([this] {
    SetCurrentThreadName("ep-http-accept");
    impl_->server.listen_after_bind();
  });
  return Status::Ok();
}

void HttpServer::StopAccepting() {
  if (impl_->event) impl_->event->StopAccepting();
  if (thread_.joinable()) impl_->server.stop();
}

void HttpServer::Stop() {
  if (impl_->event) impl_->event->Stop();
  if (!thread_.joinable()) return;
  impl_->server.stop();
  thread_.join();
}

}  // namespace epara::api
