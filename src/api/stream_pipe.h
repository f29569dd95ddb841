// StreamPipe: carries a streamed HTTP body from a producer thread (the LLM engine's step thread)
// to the client with as few thread wake-ups as possible.
//
// Measured reason (bench/results/README.md, "LLM: streaming", session 11): the connection's
// thread used to be woken for every token, to format and send one SSE event. On the 2-core box
// that wake-up and send took the cores the decode step spins on, and streaming cost 5-10% per
// token against the engine called directly. With the connection's socket known, Push() frames the
// chunk (HTTP/1.1 chunked encoding) and sends it on the producer's own thread with one
// non-blocking send(), as long as nothing is queued ahead of it. A chunk the socket cannot take
// whole (a slow reader) is queued, and only then is the connection thread woken, to finish it with
// blocking writes; the producer never blocks on a client.
//
// Without a socket (a request dispatched in-process from a peer, or one whose socket was not
// identified) every chunk goes through the connection thread's ChunkWriter, as before; several
// chunks queued while it was away leave in one write.
//
// Direct sends happen only while Serve() runs: the response's headers are out, and the
// connection's socket stays open until Serve() has returned.
//
// Thread safety: Push() and Close() from one producer thread at a time; Serve() once, from the
// connection's thread (inside HttpResponse::stream).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

#include "api/http_types.h"

namespace epara::api {

class StreamPipe {
 public:
  // `socket`: the connection's socket (HttpRequest::socket), or -1 to send through Serve's
  // ChunkWriter only. `write_timeout`: how long a blocking write may wait for the client to read.
  explicit StreamPipe(int socket,
                      std::chrono::milliseconds write_timeout = std::chrono::seconds(5));
  StreamPipe(const StreamPipe&) = delete;
  StreamPipe& operator=(const StreamPipe&) = delete;

  // Producer: sends or queues `chunk` (an empty one sends nothing: it only asks whether the client
  // is still there). Returns false once the client has gone away; the producer should stop (the LLM
  // engine cancels the sequence).
  bool Push(std::string_view chunk);
  // Producer: nothing more will be pushed. Serve() returns once the queue is written.
  void Close();
  // Whether the client is still there, as a non-blocking peek at its socket tells: false once it
  // closed or reset the connection (or a write to it failed), and Push() then returns false too.
  // True without a socket and while Serve() is not running (the socket is the server's then).
  // Any thread; a system call per call.
  bool ClientPresent();

  // Connection thread: writes what is queued and what is pushed until Close(), then returns;
  // `write` is the response's ChunkWriter. Returns false if the client went away (Serve still
  // waits for Close(), so the caller may then read what the producer left); with a socket, the
  // connection is then shut down. After Serve returns, the caller writes further chunks through
  // `write` itself.
  bool Serve(const ChunkWriter& write);

  // How many chunks the producer sent itself, and how many writes the connection thread made
  // (for tests and benchmarks).
  int64_t direct_sends() const;
  int64_t thread_writes() const;

 private:
  // Blocking write of raw bytes to the socket, waiting at most write_timeout_ per wait.
  bool SendAll(std::string_view bytes) const;

  const int socket_;
  const std::chrono::milliseconds write_timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string queue_;      // framed bytes (socket mode) or payload (ChunkWriter mode)
  bool serving_ = false;   // Serve() is running: the headers are out
  bool flushing_ = false;  // the connection thread is writing; the producer must queue behind it
  bool closed_ = false;
  bool gone_ = false;
  int64_t direct_sends_ = 0, thread_writes_ = 0;
};

// "<size hex>\r\n<chunk>\r\n": one chunk of HTTP/1.1 chunked transfer coding.
std::string FrameChunk(std::string_view chunk);

}  // namespace epara::api
