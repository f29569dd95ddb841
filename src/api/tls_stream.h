// TLS for api/http_event_server.h: a server context (certificate, key, optional client CA) and one
// TLS session per accepted socket, driven by whoever owns the connection at the moment (the event
// thread while it reads a request, a worker while it writes the answer; never two at once).
//
// Every call works on non-blocking sockets (it answers kWantRead/kWantWrite instead of waiting)
// and on blocking ones (a send or receive timeout on the socket ends a wait as kWantWrite /
// kWantRead). OpenSSL stays inside tls_stream.cc.
//
// Contracts:
// - TlsContext::Create checks the files at once (InvalidArgument naming them, never their
//   contents). With a client CA, a client without a certificate from it fails the handshake.
// - TLS 1.2 or later; renegotiation is refused (a client cannot make the server read mid-write).
// - A TlsStream frees its session on destruction; it never closes the socket (its owner does).
// - Creating a context ignores SIGPIPE for the process (core/sigpipe.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace epara::api {

class TlsStream {
 public:
  enum class Io { kOk, kWantRead, kWantWrite, kClosed, kFailed };
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Advances the server handshake: kOk once it is complete.
  Io Handshake();
  // Reads up to `cap` decrypted bytes: kOk with *got > 0; kClosed when the client closed (TLS
  // close_notify or the socket's end); kFailed on a protocol or socket error.
  Io Read(char* buf, size_t cap, size_t* got);
  // Writes all of `data` (kOk), or fails: kWantWrite when the socket would block (a non-blocking
  // socket, or a blocking one whose send timeout ran out), kFailed / kClosed otherwise.
  Io Write(std::string_view data);
  // Decrypted bytes held in the session that a Read would return without touching the socket.
  bool Pending() const;
  // Best effort: sends close_notify when the session is still sound. Never blocks for the reply.
  void Shutdown();

 private:
  friend class TlsContext;
  struct Impl;
  explicit TlsStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class TlsContext {
 public:
  // A server context from PEM files: the certificate (chain), its key and, when not empty, the
  // CA that client certificates must come from (mutual TLS).
  static Status Create(const std::string& cert_file, const std::string& key_file,
                       const std::string& client_ca_file, std::shared_ptr<TlsContext>* out);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A server session on the accepted socket `fd`; nullptr when OpenSSL cannot make one.
  std::unique_ptr<TlsStream> Accept(int fd) const;

 private:
  TlsContext() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace epara::api
