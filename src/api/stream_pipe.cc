#include "api/stream_pipe.h"

#include <cerrno>
#include <cstdio>

#include <poll.h>
#include <sys/socket.h>

namespace epara::api {

std::string FrameChunk(std::string_view chunk) {
  char size[24];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  std::string out;
  out.reserve(static_cast<size_t>(n) + chunk.size() + 2);
  out.append(size, static_cast<size_t>(n));
  out.append(chunk);
  out.append("\r\n");
  return out;
}

StreamPipe::StreamPipe(int socket, std::chrono::milliseconds write_timeout)
    : socket_(socket), write_timeout_(write_timeout) {}

bool StreamPipe::Push(std::string_view chunk) {
  std::unique_lock<std::mutex> lock(mu_);
  if (gone_) return false;
  if (chunk.empty()) return true;
  if (socket_ >= 0 && serving_ && !flushing_ && queue_.empty()) {
    const std::string frame = FrameChunk(chunk);
    const ssize_t n = ::send(socket_, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(frame.size())) {
      ++direct_sends_;
      return true;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      gone_ = true;  // reset or closed by the client
      lock.unlock();
      cv_.notify_one();
      return false;
    }
    // The socket took part of the frame, or none: the connection thread sends the rest.
    queue_.assign(frame, n > 0 ? static_cast<size_t>(n) : 0, std::string::npos);
  } else if (socket_ >= 0) {
    queue_ += FrameChunk(chunk);  // raw bytes for the socket: framed here
  } else {
    queue_.append(chunk);  // the ChunkWriter frames
  }
  // Outside the lock: the woken thread does not block on a mutex the producer still holds.
  lock.unlock();
  cv_.notify_one();
  return true;
}

void StreamPipe::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_one();
}

bool StreamPipe::SendAll(std::string_view bytes) const {
  while (!bytes.empty()) {
    const ssize_t n = ::send(socket_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p{socket_, POLLOUT, 0};
    const int r = ::poll(&p, 1, static_cast<int>(write_timeout_.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return false;
  }
  return true;
}

bool StreamPipe::ClientPresent() {
  std::unique_lock<std::mutex> lock(mu_);
  if (gone_) return false;
  if (socket_ < 0 || !serving_) return true;
  char byte;
  const ssize_t n = ::recv(socket_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
    return true;  // data of a next request, or nothing yet: still connected
  gone_ = true;   // end of stream (the client closed) or a reset
  lock.unlock();
  cv_.notify_one();
  return false;
}

bool StreamPipe::Serve(const ChunkWriter& write) {
  std::unique_lock<std::mutex> lock(mu_);
  serving_ = true;
  for (;;) {
    cv_.wait(lock, [&] { return (!queue_.empty() && !gone_) || closed_; });
    if (!queue_.empty() && !gone_) {
      std::string out;
      out.swap(queue_);
      flushing_ = true;
      lock.unlock();
      const bool ok = socket_ >= 0 ? SendAll(out) : write(out);
      lock.lock();
      flushing_ = false;
      ++thread_writes_;
      if (!ok) gone_ = true;
      continue;
    }
    break;  // closed, and nothing (more) to write
  }
  serving_ = false;
  // A frame may be half written: end the connection, so that nothing more (the library's closing
  // chunk, a next keep-alive response) is read as part of this body.
  if (gone_ && socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
  return !gone_;
}

int64_t StreamPipe::direct_sends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return direct_sends_;
}

int64_t StreamPipe::thread_writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return thread_writes_;
}

}  // namespace epara::api
