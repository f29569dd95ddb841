#include "api/tls_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/sigpipe.h"

namespace epara::api {

struct TlsStream::Impl {
  SSL* ssl = nullptr;
  bool broken = false;  // a fatal error happened: no close_notify may be sent
  ~Impl() {
    if (ssl) SSL_free(ssl);
  }
  // Maps SSL_get_error for the call that returned `ret`.
  Io Classify(int ret) {
    switch (SSL_get_error(ssl, ret)) {
      case SSL_ERROR_NONE:
        return Io::kOk;
      case SSL_ERROR_WANT_READ:
        return Io::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Io::kClosed;  // close_notify (or, with IGNORE_UNEXPECTED_EOF, the socket's end)
      default:               // SSL_ERROR_SYSCALL, SSL_ERROR_SSL, ...
        broken = true;
        ERR_clear_error();
        return Io::kFailed;
    }
  }
};

TlsStream::TlsStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsStream::~TlsStream() = default;

TlsStream::Io TlsStream::Handshake() {
  if (impl_->broken) return Io::kFailed;
  ERR_clear_error();
  const int ret = SSL_do_handshake(impl_->ssl);
  return ret == 1 ? Io::kOk : impl_->Classify(ret);
}

TlsStream::Io TlsStream::Read(char* buf, size_t cap, size_t* got) {
  *got = 0;
  if (impl_->broken) return Io::kFailed;
  ERR_clear_error();
  const int ret = SSL_read_ex(impl_->ssl, buf, cap, got);
  return ret == 1 ? Io::kOk : impl_->Classify(ret);
}

TlsStream::Io TlsStream::Write(std::string_view data) {
  while (!data.empty()) {
    if (impl_->broken) return Io::kFailed;
    ERR_clear_error();
    size_t wrote = 0;
    const int ret = SSL_write_ex(impl_->ssl, data.data(), data.size(), &wrote);
    if (ret != 1) return impl_->Classify(ret);
    data.remove_prefix(wrote);
  }
  return Io::kOk;
}

bool TlsStream::Pending() const { return !impl_->broken && SSL_pending(impl_->ssl) > 0; }

void TlsStream::Shutdown() {
  if (impl_->broken || !SSL_is_init_finished(impl_->ssl)) return;
  ERR_clear_error();
  (void)SSL_shutdown(impl_->ssl);  // sends close_notify; the client's reply is not awaited
  ERR_clear_error();
}

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  ~Impl() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

TlsContext::~TlsContext() = default;

Status TlsContext::Create(const std::string& cert_file, const std::string& key_file,
                          const std::string& client_ca_file, std::shared_ptr<TlsContext>* out) {
  IgnoreSigpipe();
  std::shared_ptr<TlsContext> c(new TlsContext());
  c->impl_ = std::make_unique<Impl>();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Internal("OpenSSL cannot make a TLS context");
  c->impl_->ctx = ctx;
  (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char kSessionContext[] = "epara-http";
  (void)SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  const auto refuse = [&](const std::string& what) {
    ERR_clear_error();
    return InvalidArgument(
        "cannot use the HTTPS certificate '" + cert_file + "' with the key '" + key_file + "'" +
        (client_ca_file.empty() ? std::string() : " and client CA '" + client_ca_file + "'") +
        ": " + what);
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return refuse("the certificate is unreadable or not PEM");
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return refuse("the key is unreadable, not PEM, or not the certificate's");
  if (SSL_CTX_check_private_key(ctx) != 1) return refuse("the key is not the certificate's");
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, client_ca_file.c_str(), nullptr) != 1)
      return refuse("the client CA is unreadable or not PEM");
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
    if (!names) return refuse("the client CA names no certificate");
    SSL_CTX_set_client_CA_list(ctx, names);  // owned by the context now
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  *out = std::move(c);
  return Status::Ok();
}

std::unique_ptr<TlsStream> TlsContext::Accept(int fd) const {
  auto s = std::make_unique<TlsStream::Impl>();
  s->ssl = SSL_new(impl_->ctx);
  if (!s->ssl || SSL_set_fd(s->ssl, fd) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_accept_state(s->ssl);
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(s)));
}

}  // namespace epara::api
