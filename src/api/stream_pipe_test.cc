// StreamPipe over a real connected socket pair: chunks arrive framed and in order whether the
// producer sends them itself or the connection thread does, a slow reader never blocks the
// producer, and a reader that goes away stops it.
#include "api/stream_pipe.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

namespace epara::api {
namespace {

using Clock = std::chrono::steady_clock;

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = fds[0];
    client = fds[1];
  }
  ~SocketPair() {
    if (server >= 0) close(server);
    if (client >= 0) close(client);
  }
  // A few KiB, so that the tests can fill it.
  void ShrinkServerSendBuffer() {
    const int small = 4096;
    EXPECT_EQ(setsockopt(server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  }
  // Reads until `n` bytes have arrived, or 10 s have passed.
  std::string Read(size_t n) {
    std::string out;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    char buf[65536];
    while (out.size() < n && Clock::now() < deadline) {
      const ssize_t r = recv(client, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  int server = -1, client = -1;
};

// Waits (bounded) until `done()` holds; the pipe's counters are the observable state.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!done())
    if (Clock::now() > deadline) return false;
  return true;
}

TEST(StreamPipeTest, FramesChunksInHttpChunkedCoding) {
  EXPECT_EQ(FrameChunk("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(FrameChunk(std::string(26, 'x')), "1a\r\n" + std::string(26, 'x') + "\r\n");
}

TEST(StreamPipeTest, WithoutSocketEverythingGoesThroughTheWriterInOrder) {
  StreamPipe pipe(-1);
  ASSERT_TRUE(pipe.Push("a"));  // before Serve: queued
  std::string written;
  std::promise<void> first_written;
  auto serve = std::async(std::launch::async, [&] {
    return pipe.Serve([&](std::string_view c) {
      if (written.empty()) first_written.set_value();
      written.append(c);
      return true;
    });
  });
  first_written.get_future().wait();
  for (const char* c : {"b", "c", "d"}) ASSERT_TRUE(pipe.Push(c));
  pipe.Close();
  EXPECT_TRUE(serve.get());
  EXPECT_EQ(written, "abcd");  // unframed: the ChunkWriter frames
  EXPECT_EQ(pipe.direct_sends(), 0);
  EXPECT_GE(pipe.thread_writes(), 1);
}

TEST(StreamPipeTest, ProducerSendsItselfOnceServingAndNothingIsQueued) {
  SocketPair sp;
  StreamPipe pipe(sp.server);
  ASSERT_TRUE(pipe.Push("head"));  // before Serve: the headers are not out yet, so it queues
  EXPECT_EQ(pipe.direct_sends(), 0);
  auto serve = std::async(std::launch::async, [&] {
    return pipe.Serve([](std::string_view) {
      ADD_FAILURE() << "socket mode must not use the ChunkWriter";
      return false;
    });
  });
  EXPECT_EQ(sp.Read(FrameChunk("head").size()), FrameChunk("head"));
  ASSERT_TRUE(WaitFor([&] { return pipe.thread_writes() == 1; }));
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    const std::string c = "data: token " + std::to_string(i) + "\n\n";
    ASSERT_TRUE(pipe.Push(c));
    expected += FrameChunk(c);
  }
  EXPECT_EQ(sp.Read(expected.size()), expected);
  EXPECT_EQ(pipe.direct_sends(), 50);  // the connection thread was not needed for any of them
  EXPECT_EQ(pipe.thread_writes(), 1);
  pipe.Close();
  EXPECT_TRUE(serve.get());
}

TEST(StreamPipeTest, SlowReaderGetsEverythingInOrderWithoutBlockingTheProducer) {
  SocketPair sp;
  sp.ShrinkServerSendBuffer();
  StreamPipe pipe(sp.server);
  auto serve = std::async(std::launch::async, [&] { return pipe.Serve(nullptr); });
  // Far more than the socket buffers hold: the producer must return at once, each time.
  std::string expected;
  const auto t0 = Clock::now();
  for (int i = 0; i < 200; ++i) {
    const std::string c = std::string(4000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(pipe.Push(c));
    expected += FrameChunk(c);
  }
  pipe.Close();
  const double push_s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(push_s, 5.0) << "Push blocked on the reader";
  EXPECT_EQ(sp.Read(expected.size()), expected);  // nothing lost, nothing reordered
  EXPECT_TRUE(serve.get());
  EXPECT_GT(pipe.thread_writes(), 0);  // the socket filled up, so the connection thread helped
}

TEST(StreamPipeTest, ReaderGoneStopsTheProducerAndServeStillWaitsForClose) {
  SocketPair sp;
  StreamPipe pipe(sp.server);
  auto serve = std::async(std::launch::async, [&] { return pipe.Serve(nullptr); });
  ASSERT_TRUE(pipe.Push("x"));  // before or after Serve starts; both paths are fine
  EXPECT_EQ(sp.Read(FrameChunk("x").size()), FrameChunk("x"));
  close(sp.client);
  sp.client = -1;
  // A chunk pushed while the connection thread writes is queued (true); its failed write, or the
  // producer's own failed send, marks the reader gone.
  EXPECT_TRUE(WaitFor([&] { return !pipe.Push("more"); }))
      << "Push kept accepting chunks for a closed reader";
  EXPECT_FALSE(pipe.Push("after"));
  EXPECT_EQ(serve.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "Serve returned before Close(): the caller could not read the producer's result";
  pipe.Close();
  EXPECT_FALSE(serve.get());
}

// A producer with nothing to send yet (an LLM request still waiting) can ask whether its client
// is still there: a closed connection is seen without writing anything.
TEST(StreamPipeTest, AClientThatClosedIsSeenWithoutAWrite) {
  SocketPair sp;
  StreamPipe pipe(sp.server);
  EXPECT_TRUE(pipe.ClientPresent()) << "before Serve the socket is the server's: not peeked";
  auto serve = std::async(std::launch::async, [&] { return pipe.Serve(nullptr); });
  ASSERT_TRUE(pipe.Push("x"));
  EXPECT_EQ(sp.Read(FrameChunk("x").size()), FrameChunk("x"));  // Serve runs now
  EXPECT_TRUE(pipe.ClientPresent());
  ASSERT_EQ(send(sp.client, "y", 1, 0), 1);  // unread bytes from the client: still there
  EXPECT_TRUE(pipe.ClientPresent());
  char y = 0;
  ASSERT_EQ(recv(sp.server, &y, 1, 0), 1);  // (the server reads them: a peek leaves them)
  close(sp.client);
  sp.client = -1;
  EXPECT_FALSE(pipe.ClientPresent());
  EXPECT_FALSE(pipe.Push("after")) << "the producer stops too";
  pipe.Close();
  EXPECT_FALSE(serve.get());
  StreamPipe no_socket(-1);
  EXPECT_TRUE(no_socket.ClientPresent());
}

TEST(StreamPipeTest, AReaderThatStopsReadingIsCutOffAfterTheWriteTimeout) {
  SocketPair sp;
  sp.ShrinkServerSendBuffer();
  StreamPipe pipe(sp.server, std::chrono::milliseconds(50));
  auto serve = std::async(std::launch::async, [&] { return pipe.Serve(nullptr); });
  ASSERT_TRUE(pipe.Push(std::string(1 << 20, 'z')));  // far more than the socket buffers hold
  // An empty chunk only asks whether the reader is still there.
  EXPECT_TRUE(WaitFor([&] { return !pipe.Push(""); }))
      << "a reader that never reads was never given up on";
  pipe.Close();
  EXPECT_FALSE(serve.get());
  // The connection was shut down, so the reader sees the end of the stream after what was sent
  // instead of waiting for more (a half-written frame must not be followed by anything).
  char buf[65536];
  ssize_t r;
  while ((r = recv(sp.client, buf, sizeof buf, 0)) > 0) {
  }
  EXPECT_EQ(r, 0);
}

}  // namespace
}  // namespace epara::api
