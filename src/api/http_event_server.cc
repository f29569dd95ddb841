#include "api/http_event_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "api/error_mapping.h"
#include "api/http_wire.h"
#include "core/thread_name.h"

namespace epara::api {
namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string address;             // the client's IP
  std::string buf;                 // bytes read and not yet consumed (decrypted, with TLS)
  std::unique_ptr<TlsStream> tls;  // HTTPS: the connection's TLS session
  bool want_write = false;         // the TLS handshake waits for the socket to take more
  // kHandshake: TLS not yet established. kDiscard: refused; what the client still sends is read
  // and dropped until it closes or the deadline, so that it reads the refusal instead of a reset.
  enum class Phase { kHandshake, kIdle, kHead, kBody, kDiscard } phase = Phase::kIdle;
  Clock::time_point deadline;
  WireRequest req;
  size_t head_bytes = 0;
  bool continue_sent = false;
  std::string body;   // the complete request's body, for the worker
  bool keep = false;  // a worker's verdict: serve the next request on it
};

void SetNonBlocking(int fd, bool on) {
  const int flags = fcntl(fd, F_GETFL, 0);
  (void)fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

// Writes all of `data` on the connection's blocking socket (SO_SNDTIMEO bounds each wait), through
// its TLS session if it has one. False on failure.
bool SendAll(Conn& c, std::string_view data) {
  if (c.tls) return c.tls->Write(data) == TlsStream::Io::kOk;
  while (!data.empty()) {
    const ssize_t n = send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Best effort on the event thread's non-blocking socket: what the socket takes now.
void SendNow(Conn& c, std::string_view data) {
  if (c.tls)
    (void)c.tls->Write(data);
  else
    (void)!send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Reads what the connection has without waiting (its socket is non-blocking): > 0 bytes, 0 when
// the client closed, -1 with errno (EAGAIN: nothing now).
ssize_t ReadSome(Conn& c, char* buf, size_t cap) {
  if (!c.tls) return recv(c.fd, buf, cap, MSG_DONTWAIT);
  size_t got = 0;
  switch (c.tls->Read(buf, cap, &got)) {
    case TlsStream::Io::kOk:
      return static_cast<ssize_t>(got);
    case TlsStream::Io::kWantRead:
    case TlsStream::Io::kWantWrite:
      errno = EAGAIN;
      return -1;
    case TlsStream::Io::kClosed:
      return 0;
    default:
      errno = ECONNRESET;
      return -1;
  }
}

// While a response streams: has the client closed its side? (Over TLS the client's close_notify
// is data on the socket, so the socket's end is asked for instead of peeking at bytes.)
bool ClientGone(const Conn& c) {
  if (!c.tls) {
    char b;
    return recv(c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  pollfd p{c.fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::string ErrorResponse(int status, const std::string& why) {
  const char* type = status == 413   ? "payload_too_large"
                     : status == 431 ? "header_too_large"
                     : status == 408 ? "deadline_exceeded"
                     : status == 503 ? "unavailable"
                     : status >= 500 ? "unimplemented"
                                     : "invalid_argument";
  const std::string body = ErrorBody(status, type, why);
  return ResponseHead(status, {{"Content-Type", "application/json"}}, false, body.size(), false) +
         body;
}

}  // namespace

struct EventHttpServer::Impl {
  EventServerOptions o;
  Handler handler;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread loop;
  std::vector<std::thread> workers;

  // Event thread only.
  std::map<int, std::unique_ptr<Conn>> conns;  // in the loop (not with a worker)
  std::map<std::string, int> per_address;      // open connections by client address
  int total = 0;                               // open connections, with workers' included
  Clock::time_point accept_paused_until{};
  Clock::time_point last_expire{};

  std::atomic<int> open{0};
  std::mutex mu;
  std::condition_variable work_cv, idle_cv, ack_cv;
  std::deque<std::unique_ptr<Conn>> jobs;      // GUARDED_BY(mu): complete requests
  std::deque<std::unique_ptr<Conn>> returned;  // GUARDED_BY(mu): back from workers
  int busy = 0;                                // GUARDED_BY(mu): workers running a request
  bool stop_accepting = false, accepting_closed = false;  // GUARDED_BY(mu)
  bool stopping = false;                                  // GUARDED_BY(mu)
  bool loop_exit = false;                                 // GUARDED_BY(mu)
  bool draining = false;  // GUARDED_BY(mu): Stop() began; no new request is taken

  void Wake() {
    const uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof one);
  }

  void Close(std::unique_ptr<Conn> c) {
    if (auto it = per_address.find(c->address); it != per_address.end() && --it->second <= 0)
      per_address.erase(it);
    --total;
    open = total;
    if (c->tls) c->tls->Shutdown();  // close_notify, when the session is sound
    c->tls.reset();
    ::close(c->fd);
  }

  // Out of the loop and closed.
  void Drop(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    std::unique_ptr<Conn> gone = std::move(it->second);
    conns.erase(it);
    (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    Close(std::move(gone));
  }

  // Watches the socket for room to write too (a TLS handshake that wants to send), or not.
  void WatchWrites(Conn& c, bool on) {
    if (c.want_write == on) return;
    c.want_write = on;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    (void)epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Best effort from the event thread (non-blocking); then the connection lingers in kDiscard.
  void Refuse(std::unique_ptr<Conn> c, int status, const std::string& why) {
    SendNow(*c, ErrorResponse(status, why));
    if (c->tls) c->tls->Shutdown();
    (void)shutdown(c->fd, SHUT_WR);
    c->phase = Conn::Phase::kDiscard;
    c->buf.clear();
    c->deadline = Clock::now() + std::chrono::seconds(2);
    (void)Register(std::move(c));
  }

  // Into the loop: watched for input, owned by conns. -1 (and closed) when epoll refuses it.
  int Register(std::unique_ptr<Conn> c) {
    epoll_event ev{};
    c->want_write = false;
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c->fd;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      Close(std::move(c));
      return -1;
    }
    const int fd = c->fd;
    conns[fd] = std::move(c);
    return fd;
  }

  void Accept() {
    for (;;) {
      sockaddr_storage a{};
      socklen_t len = sizeof a;
      const int fd =
          accept4(listen_fd, reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop accepting for a moment instead of spinning on the event.
          accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
          epoll_event ev{};
          ev.data.fd = listen_fd;
          (void)epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
        }
        return;
      }
      char ip[INET6_ADDRSTRLEN] = "?";
      if (a.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in&>(a).sin_addr, ip, sizeof ip);
      else if (a.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(a).sin6_addr, ip, sizeof ip);
      if (total >= o.max_connections || per_address[ip] >= o.max_per_address) {
        if (per_address[ip] == 0) per_address.erase(ip);
        ::close(fd);  // over the limits: closed at once
        continue;
      }
      const int one = 1;
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->address = ip;
      c->phase = Conn::Phase::kHead;  // the first request is due within head_timeout
      if (o.tls) {                    // and, with TLS, the handshake before it
        c->tls = o.tls->Accept(fd);
        if (!c->tls) {
          ::close(fd);
          continue;
        }
        c->phase = Conn::Phase::kHandshake;
      }
      c->deadline = Clock::now() + o.head_timeout;
      per_address[ip]++;
      ++total;
      open = total;
      Watch(std::move(c));
    }
  }

  void Watch(std::unique_ptr<Conn> c) {
    if (const int fd = Register(std::move(c)); fd >= 0)
      Process(fd);  // a pipelined request may be complete already
  }

  void Readable(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    Conn& c = *it->second;
    if (c.phase == Conn::Phase::kHandshake) {
      const TlsStream::Io io = c.tls->Handshake();
      if (io == TlsStream::Io::kWantRead || io == TlsStream::Io::kWantWrite) {
        WatchWrites(c, io == TlsStream::Io::kWantWrite);
        return;
      }
      if (io != TlsStream::Io::kOk) {  // not TLS, a refused certificate, or gone
        Drop(fd);
        return;
      }
      WatchWrites(c, false);
      c.phase = Conn::Phase::kHead;  // the first request is due by the same deadline
    }
    char chunk[16384];
    bool closed = false;
    size_t got = 0;
    // (A TLS session's decrypted bytes are taken whole: the socket may hold nothing more.)
    while (got < (1u << 20) || (c.tls && c.tls->Pending())) {
      const ssize_t n = ReadSome(c, chunk, sizeof chunk);
      if (n > 0) {
        c.buf.append(chunk, static_cast<size_t>(n));
        got += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
      break;
    }
    if (c.phase == Conn::Phase::kDiscard) {
      c.buf.clear();
      if (closed) Drop(fd);
      return;
    }
    if (got > 0 && c.phase == Conn::Phase::kBody) c.deadline = Clock::now() + o.read_timeout;
    if (got > 0 && c.phase == Conn::Phase::kIdle) {
      c.phase = Conn::Phase::kHead;
      c.deadline = Clock::now() + o.head_timeout;
    }
    if (!Process(fd) && closed) Drop(fd);  // still in the loop: the client is gone
  }

  // Parses c.buf: kOk when a whole request is there (c.req, c.body set; its bytes consumed),
  // kIncomplete, or kBad (*status, *why). Touches nothing but `c` (the event thread and a
  // lingering worker both use it).
  WireParse TakeRequest(Conn& c, int* status, std::string* why) const {
    if (c.buf.empty()) return WireParse::kIncomplete;
    if (c.phase != Conn::Phase::kBody) {
      const WireParse p = ParseRequestHead(c.buf, o.max_head_bytes, o.max_body_bytes, &c.req,
                                           &c.head_bytes, status, why);
      if (p != WireParse::kOk) return p;
      c.phase = Conn::Phase::kBody;
      c.continue_sent = false;
      c.deadline = Clock::now() + o.read_timeout;
    }
    size_t used = 0;
    if (c.req.chunked) {
      const WireParse p = DecodeChunkedBody(std::string_view(c.buf).substr(c.head_bytes),
                                            o.max_body_bytes, &c.body, &used, status, why);
      if (p != WireParse::kOk) return p;
    } else {
      const size_t need = static_cast<size_t>(c.req.content_length);
      if (c.buf.size() - c.head_bytes < need) return WireParse::kIncomplete;
      c.body = c.buf.substr(c.head_bytes, need);
      used = need;
    }
    c.buf.erase(0, c.head_bytes + used);
    c.phase = Conn::Phase::kIdle;
    return WireParse::kOk;
  }

  // Parses what `fd` has; dispatches a complete request. True when the connection left the loop.
  bool Process(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return true;
    Conn& c = *it->second;
    const auto take = [&] {
      std::unique_ptr<Conn> out = std::move(it->second);
      conns.erase(it);
      (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
      return out;
    };
    int status = 0;
    std::string why;
    const WireParse p = TakeRequest(c, &status, &why);
    if (p == WireParse::kBad) {
      Refuse(take(), status, why);
      return true;
    }
    if (p == WireParse::kIncomplete) return c.phase == Conn::Phase::kBody ? Continue(c) : false;
    std::unique_ptr<Conn> job = take();
    std::unique_lock<std::mutex> lock(mu);
    if (draining) {  // Stop() began: requests not yet taken are not accepted
      lock.unlock();
      Close(std::move(job));
      return true;
    }
    if (static_cast<int>(jobs.size()) >= o.max_queued) {
      lock.unlock();
      Refuse(std::move(job), 503, "the server is overloaded; retry later");
      return true;
    }
    jobs.push_back(std::move(job));
    lock.unlock();
    work_cv.notify_one();
    return true;
  }

  // A body still arriving: asks for it once if the client waits for 100 Continue.
  bool Continue(Conn& c) {
    if (c.req.expect_continue && !c.continue_sent) {
      SendNow(c, "HTTP/1.1 100 Continue\r\n\r\n");
      c.continue_sent = true;
    }
    return false;
  }

  void Expire() {
    const auto now = Clock::now();
    if (now - last_expire < std::chrono::milliseconds(50)) return;  // a scan per 50 ms at most
    last_expire = now;
    std::vector<int> late;
    for (const auto& [fd, c] : conns)
      if (now > c->deadline) late.push_back(fd);
    for (int fd : late) {
      std::unique_ptr<Conn> c = std::move(conns[fd]);
      conns.erase(fd);
      (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
      if (c->phase == Conn::Phase::kIdle || c->phase == Conn::Phase::kDiscard ||
          c->phase == Conn::Phase::kHandshake)
        Close(std::move(c));  // keep-alive ran out, a refused client never closed, or no TLS
      else
        Refuse(std::move(c), 408, "the request did not arrive in time");
    }
    if (accept_paused_until != Clock::time_point{} && now > accept_paused_until && listen_fd >= 0) {
      accept_paused_until = {};
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = listen_fd;
      (void)epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
    }
  }

  void Loop() {
    SetCurrentThreadName("ep-http-loop");
    std::vector<epoll_event> events(256);
    for (;;) {
      const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_fd) {
          Accept();
        } else if (fd == wake_fd) {
          uint64_t v;
          (void)!read(wake_fd, &v, sizeof v);
        } else {
          Readable(fd);
        }
      }
      std::deque<std::unique_ptr<Conn>> back;
      bool close_listener = false, exit = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        back.swap(returned);
        close_listener = stop_accepting && !accepting_closed;
        exit = loop_exit;
      }
      for (auto& c : back) {
        if (c->keep && !exit) {
          c->deadline = Clock::now() + o.keep_alive;
          c->phase = Conn::Phase::kIdle;
          Watch(std::move(c));
        } else {
          Close(std::move(c));
        }
      }
      if (close_listener) {
        if (listen_fd >= 0) {
          (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
          ::close(listen_fd);
          listen_fd = -1;
        }
        std::lock_guard<std::mutex> lock(mu);
        accepting_closed = true;
        ack_cv.notify_all();
      }
      Expire();
      if (exit) break;
    }
    for (auto& [fd, c] : conns) {
      (void)epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
      ::close(c->fd);
    }
    conns.clear();
  }

  void Work() {
    SetCurrentThreadName("ep-http");
    for (;;) {
      std::unique_ptr<Conn> c;
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return stopping || !jobs.empty(); });
        if (jobs.empty()) return;  // stopping, and nothing left to answer
        c = std::move(jobs.front());
        jobs.pop_front();
        busy++;
      }
      c->keep = Serve(*c, std::move(c->body));
      // A client at full speed sends its next request within microseconds of the answer: wait
      // for it here a moment (blocked, not spinning) and serve it without the event thread's
      // hand-offs. A worker is tied to a connection for at most linger per answered request.
      while (c->keep && Linger(*c)) c->keep = Serve(*c, std::move(c->body));
      {
        std::lock_guard<std::mutex> lock(mu);
        busy--;
        returned.push_back(std::move(c));
        if (busy == 0 && jobs.empty()) idle_cv.notify_all();
      }
      Wake();
    }
  }

  // After an answer on a keep-alive connection: true when a whole next request arrived within
  // o.linger (then in c.req / c.body). False leaves what came in c.buf for the event thread.
  bool Linger(Conn& c) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (draining || !jobs.empty()) return false;  // others wait: the worker is needed there
    }
    const auto until = Clock::now() + o.linger;
    for (;;) {
      int status = 0;
      std::string why;
      const WireParse p = TakeRequest(c, &status, &why);
      if (p == WireParse::kOk) return true;
      if (p == WireParse::kBad) return false;  // the event thread refuses it
      if (c.req.expect_continue && c.phase == Conn::Phase::kBody) return false;
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - Clock::now());
      if (left.count() <= 0) return false;
      if (!c.tls || !c.tls->Pending()) {
        pollfd p_fd{c.fd, POLLIN, 0};
        const timespec ts{0, static_cast<long>(left.count()) * 1000};
        if (ppoll(&p_fd, 1, &ts, nullptr) <= 0 || !(p_fd.revents & POLLIN)) return false;
      }
      char chunk[16384];
      const ssize_t n = ReadSome(c, chunk, sizeof chunk);
      if (n < 0 && errno == EAGAIN && c.tls) continue;  // part of a TLS record: wait for the rest
      if (n <= 0) return false;  // closed or nothing: the event thread finds out
      c.buf.append(chunk, static_cast<size_t>(n));
      if (c.phase == Conn::Phase::kIdle) c.phase = Conn::Phase::kHead;
    }
  }

  // Runs one request and writes its response; true when the connection may serve another.
  bool Serve(Conn& c, std::string body) {
    SetNonBlocking(c.fd, false);
    timeval tv{};
    tv.tv_sec = o.write_timeout.count() / 1000;
    tv.tv_usec = (o.write_timeout.count() % 1000) * 1000;
    (void)setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    HttpRequest r;
    const bool head_only = c.req.method == "HEAD";
    r.method = head_only ? "GET" : c.req.method;
    r.path = c.req.path;
    r.body = std::move(body);
    r.query = c.req.query;
    r.headers = c.req.headers;
    const int fd = c.fd;
    const bool http11 = c.req.version == "HTTP/1.1";
    const bool raw = !c.tls;  // a TLS session's socket takes no raw bytes
    r.socket = [fd, http11, raw] { return http11 && raw ? fd : -1; };
    HttpResponse res;
    try {
      handler(r, &res);
    } catch (const std::exception& e) {
      res = HttpResponse();
      res.status = 500;
      res.body = ErrorBody(500, "internal", e.what());
    } catch (...) {
      res = HttpResponse();
      res.status = 500;
      res.body = ErrorBody(500, "internal", "unhandled error");
    }
    bool keep = c.req.keep_alive;
    {
      std::lock_guard<std::mutex> lock(mu);
      keep = keep && !stopping;
    }
    std::vector<std::pair<std::string, std::string>> headers = res.headers;
    bool typed = false;
    for (const auto& [k, v] : headers) typed = typed || strcasecmp(k.c_str(), "Content-Type") == 0;
    if (!typed) headers.emplace_back("Content-Type", res.content_type);
    bool ok = true;
    if (res.stream && !head_only) {
      if (!http11) keep = false;  // no chunked coding in HTTP/1.0: the body ends at the close
      ok = SendAll(c, ResponseHead(res.status, headers, http11, 0, keep));
      if (ok) {
        bool gone = false;
        ChunkWriter write = [&](std::string_view chunk) {
          if (gone) return false;
          if (chunk.empty()) {  // nothing to send: is the client still there?
            gone = ClientGone(c);
            return !gone;
          }
          gone = !SendAll(c, http11 ? ChunkFrame(chunk) : std::string(chunk));
          return !gone;
        };
        res.stream(write);
        ok = !gone && (!http11 || SendAll(c, "0\r\n\r\n"));
      }
    } else {
      // A small answer leaves in one write (one TCP segment, one TLS record): the client reads it
      // whole instead of waking for the head and again for the body.
      std::string head = ResponseHead(res.status, headers, false, res.body.size(), keep);
      if (!head_only && res.body.size() <= (64u << 10)) {
        head += res.body;
        ok = SendAll(c, head);
      } else {
        ok = SendAll(c, head) && (head_only || SendAll(c, res.body));
      }
    }
    SetNonBlocking(fd, true);
    return ok && keep;
  }
};

EventHttpServer::EventHttpServer(EventServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->o = options;
  impl_->handler = std::move(handler);
}

EventHttpServer::~EventHttpServer() { Stop(); }

int EventHttpServer::open_connections() const { return impl_->open.load(); }

Status EventHttpServer::Start(const std::string& host, int port, int* bound_port) {
  Impl& m = *impl_;
  // Thousands of idle connections need as many descriptors: raise the soft limit to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    return Unavailable("cannot resolve " + host);
  int fd = -1;
  for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return Unavailable("cannot bind " + host + ":" + std::to_string(port));
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound_port = ntohs(a.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(a).sin6_port
                                              : reinterpret_cast<sockaddr_in&>(a).sin_port);
  m.listen_fd = fd;
  m.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  m.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  for (int f : {m.listen_fd, m.wake_fd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = f;
    (void)epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, f, &ev);
  }
  m.loop = std::thread([&m] { m.Loop(); });
  for (int i = 0; i < std::max(1, m.o.threads); ++i) m.workers.emplace_back([&m] { m.Work(); });
  return Status::Ok();
}

void EventHttpServer::StopAccepting() {
  Impl& m = *impl_;
  if (!m.loop.joinable()) return;
  std::unique_lock<std::mutex> lock(m.mu);
  m.stop_accepting = true;
  lock.unlock();
  m.Wake();
  lock.lock();
  m.ack_cv.wait(lock, [&] { return m.accepting_closed; });
}

void EventHttpServer::Stop() {
  Impl& m = *impl_;
  if (!m.loop.joinable()) return;
  StopAccepting();
  {
    // Every request already taken is answered before the workers go; none is taken any more.
    std::unique_lock<std::mutex> lock(m.mu);
    m.draining = true;
    m.idle_cv.wait(lock, [&] { return m.busy == 0 && m.jobs.empty(); });
    m.stopping = true;
  }
  m.work_cv.notify_all();
  for (std::thread& t : m.workers) t.join();
  m.workers.clear();
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.loop_exit = true;
  }
  m.Wake();
  m.loop.join();
  ::close(m.epoll_fd);
  ::close(m.wake_fd);
}

}  // namespace epara::api
