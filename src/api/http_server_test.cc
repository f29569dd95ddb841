// HttpServer with a real client on loopback: a handler finds its connection's socket, and a
// StreamPipe sending chunk frames on it yields a well-formed chunked body for the HTTP library's
// client, with the producer sending most chunks itself.
#include "api/http_server.h"

#include <httplib.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/stream_pipe.h"
#include "testing/loopback_socket.h"

namespace epara::api {
namespace {

using Clock = std::chrono::steady_clock;

std::string Chunk(int i) { return "data: " + std::to_string(i) + "\n\n"; }

TEST(HttpServerTest, StreamPipeSendsOnTheConnectionSocketAndTheClientReadsEveryChunk) {
  HttpServerOptions options;
  options.port = 0;
  options.threads = 4;
  HttpServer server(options);
  server.Route("GET", "/stream", [](const HttpRequest& req, HttpResponse* res) {
    auto pipe = std::make_shared<StreamPipe>(req.socket ? req.socket() : -1);
    res->content_type = "text/event-stream";
    res->stream = [pipe](const ChunkWriter& write) {
      pipe->Push(Chunk(0));  // before Serve(): queued for the connection thread
      std::thread producer([pipe] {
        // Once the connection thread has written the first chunk, Serve() is running and the
        // rest can leave from this thread (bounded wait on the pipe's own counter).
        const auto deadline = Clock::now() + std::chrono::seconds(10);
        while (pipe->thread_writes() == 0 && Clock::now() < deadline) std::this_thread::yield();
        for (int i = 1; i < 40; ++i) pipe->Push(Chunk(i));
        pipe->Close();
      });
      const bool ok = pipe->Serve(write);
      producer.join();
      if (ok) write("direct=" + std::to_string(pipe->direct_sends()));
    };
  });
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(10, 0);
  std::string expected;
  for (int i = 0; i < 40; ++i) expected += Chunk(i);
  for (int request = 0; request < 2; ++request) {  // the second one reuses the keep-alive socket
    auto r = client.Get("/stream");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    ASSERT_EQ(r->body.substr(0, expected.size()), expected);
    const int direct = std::stoi(r->body.substr(expected.size() + std::string("direct=").size()));
    EXPECT_EQ(direct, 39) << "the socket was not found, or chunks went through the thread";
  }
  server.Stop();
}

TEST(HttpServerTest, DispatchedRequestsHaveNoSocket) {
  HttpServer server(HttpServerOptions{});
  bool had_socket = true;
  server.Route("GET", "/x", [&](const HttpRequest& req, HttpResponse*) {
    had_socket = req.socket && req.socket() >= 0;
  });
  HttpRequest req;
  req.method = "GET";
  req.path = "/x";
  HttpResponse res;
  server.Dispatch(req, &res);
  EXPECT_FALSE(had_socket);
}

}  // namespace
}  // namespace epara::api

namespace epara::api {
namespace {

using epara::testing::ReadUntilClosed;
int Connect(int port) { return epara::testing::ConnectLoopback(port); }

class EventHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.port = 0;
    o.threads = 4;
    o.head_timeout_ms = 500;
    o.max_body_bytes = 1 << 20;
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("GET", "/health",
                   [](const HttpRequest&, HttpResponse* res) { res->body = R"({"status":"ok"})"; });
    server_->Route("POST", "/echo", [](const HttpRequest& req, HttpResponse* res) {
      res->body = req.body + "|" + req.Query("q");
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }
  std::unique_ptr<HttpServer> server_;
};

// Slowloris (issue 27): a thousand connections that sent half a request line hold no thread, so
// health checks are answered at once beside them; and each of them is closed with a 408 once its
// head is late.
TEST_F(EventHttpTest, HalfOpenConnectionsHoldNoThreadAndAreClosedWhenLate) {
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0) << "connection " << i;
    const std::string partial = "GET /health HTTP/1.1\r\nHost: x\r\n";  // never finished
    ASSERT_EQ(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(partial.size()));
    idle.push_back(fd);
  }
  httplib::Client client("127.0.0.1", server_->port());
  client.set_read_timeout(5, 0);
  for (int i = 0; i < 20; ++i) {  // 4 workers, 1000 idle connections: all answered
    auto r = client.Get("/health");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
  }
  // Each half-open connection gets its 408 and is closed (the head deadline is 0.5 s).
  for (int fd : {idle.front(), idle[500], idle.back()}) {
    const std::string answer = ReadUntilClosed(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"type\""), std::string::npos) << answer;
  }
  for (int fd : idle) close(fd);
}

// Bad input gets a JSON error and the server keeps serving; pipelined requests, 100-continue and
// chunked request bodies work as clients expect.
TEST_F(EventHttpTest, MalformedRequestsGetClearErrorsAndWellFormedOnesEveryFeature) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
      {"GET /health HTTP/2.0\r\n\r\n", "HTTP/1.1 505"},
      {"POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501"},
      {"POST /echo HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "HTTP/1.1 400"},
      {"GET /health HTTP/1.1\r\nX: " + std::string(70000, 'a') + "\r\n\r\n", "HTTP/1.1 431"},
      {"GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404"},
  };
  for (const auto& [request, status] : bad) {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    (void)send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    const std::string answer = ReadUntilClosed(fd);
    EXPECT_EQ(answer.rfind(status, 0), 0u) << request.substr(0, 60) << " -> " << answer;
    EXPECT_NE(answer.find("\"message\""), std::string::npos) << answer;
    close(fd);
  }
  // Two pipelined requests in one write, then a chunked body, on one connection.
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const std::string two =
      "POST /echo?q=a%20b+c HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\ntwo\r\n4;x=1\r\n-two\r\n0\r\n\r\n";
  ASSERT_EQ(send(fd, two.data(), two.size(), MSG_NOSIGNAL), static_cast<ssize_t>(two.size()));
  std::string answers = ReadUntilClosed(fd);
  EXPECT_NE(answers.find("\r\n\r\none|a b c"), std::string::npos) << answers;
  EXPECT_NE(answers.find("\r\n\r\ntwo-two|"), std::string::npos) << answers;
  close(fd);
  // Expect: 100-continue: the body follows the server's go-ahead.
  fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n"
      "Connection: close\r\n\r\n";
  (void)send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  char buf[64] = {};
  const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  (void)send(fd, "body", 4, MSG_NOSIGNAL);
  answers = ReadUntilClosed(fd);
  EXPECT_NE(answers.find("\r\n\r\nbody|"), std::string::npos) << answers;
  close(fd);
  // HEAD answers a GET route's head alone.
  httplib::Client client("127.0.0.1", server_->port());
  auto r = client.Head("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Length"), "15");
}

}  // namespace
}  // namespace epara::api
