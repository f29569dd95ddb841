// HttpServer with a real client on loopback: a handler finds its connection's socket, and a
// StreamPipe sending chunk frames on it yields a well-formed chunked body for the HTTP library's
// client, with the producer sending most chunks itself.
#include "api/http_server.h"

#include <httplib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "api/stream_pipe.h"

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
