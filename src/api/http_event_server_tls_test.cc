// HTTPS on the event-driven server (issue 27): handshakes run on the event thread, so TLS clients
// that never finish a handshake or a request head hold no thread and are closed at the head
// deadline; keep-alive, pipelined, streamed and malformed requests behave as over plain HTTP;
// mutual TLS refuses clients without a certificate from the CA; a bad key is a clear error.
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "security/certs.h"
#include "testing/loopback_socket.h"

namespace epara::api {
namespace {

namespace fs = std::filesystem;

int Connect(int port) { return epara::testing::ConnectLoopback(port); }

// A TLS client connection that trusts `ca_file`, made with OpenSSL directly (raw bytes in and out,
// which an HTTP library would not send).
class RawTlsClient {
 public:
  RawTlsClient(int port, const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) return;
    fd_ = Connect(port);
    if (fd_ < 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    connected_ = SSL_connect(ssl_) == 1;
  }
  ~RawTlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
    ERR_clear_error();
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }
  // Everything until the server closes (bounded by the receive timeout).
  std::string ReadUntilClosed() {
    std::string got;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

std::string Chunk(int i) { return "data: " + std::to_string(i) + "\n\n"; }

class EventHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("epara-https-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "other");
    ASSERT_TRUE(security::CreateCa(dir_.string(), "test CA").ok());
    ASSERT_TRUE(security::CreateCa((dir_ / "other").string(), "another CA").ok());
    ASSERT_TRUE(
        security::IssueCertificate(dir_.string(), "server", {"127.0.0.1"}, Path("server")).ok());
    ASSERT_TRUE(
        security::IssueCertificate(dir_.string(), "client", {"127.0.0.1"}, Path("client")).ok());
    ASSERT_TRUE(security::IssueCertificate((dir_ / "other").string(), "intruder", {"127.0.0.1"},
                                           Path("intruder"))
                    .ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    fs::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Starts a server with a 0.5 s head deadline, 4 workers and these routes: GET /health,
  // POST /echo, GET /stream (40 chunks through the ChunkWriter; the last says whether the handler
  // was offered a raw socket).
  Status StartServer(const std::string& client_ca = "", const std::string& key = "") {
    HttpServerOptions o;
    o.port = 0;
    o.threads = 4;
    o.head_timeout_ms = 500;
    o.tls_cert_file = Path("server.pem");
    o.tls_key_file = key.empty() ? Path("server.key") : key;
    o.tls_client_ca_file = client_ca;
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("GET", "/health",
                   [](const HttpRequest&, HttpResponse* res) { res->body = R"({"status":"ok"})"; });
    server_->Route("POST", "/echo",
                   [](const HttpRequest& req, HttpResponse* res) { res->body = req.body + "|"; });
    server_->Route("GET", "/stream", [](const HttpRequest& req, HttpResponse* res) {
      const bool raw_socket = req.socket && req.socket() >= 0;
      res->content_type = "text/event-stream";
      res->stream = [raw_socket](const ChunkWriter& write) {
        for (int i = 0; i < 40; ++i)
          if (!write(Chunk(i))) return;
        write(raw_socket ? "socket" : "no-socket");
      };
    });
    return server_->Start();
  }

  std::unique_ptr<httplib::SSLClient> Client(const std::string& cert = "",
                                             const std::string& key = "") const {
    auto c = cert.empty()
                 ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port())
                 : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(), cert, key);
    c->set_ca_cert_path(Path("ca.pem").c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(10);
    c->set_read_timeout(10);
    return c;
  }

  fs::path dir_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(EventHttpsTest, UnfinishedHandshakesAndHeadsHoldNoThreadAndAreClosedWhenLate) {
  ASSERT_TRUE(StartServer().ok());
  // 600 connections that never finish a handshake: half send nothing, half the first bytes of a
  // TLS record. One more finishes its handshake and then half a request head.
  std::vector<int> stalled;
  for (int i = 0; i < 600; ++i) {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0) << "connection " << i;
    if (i % 2 == 1) {
      ASSERT_EQ(send(fd, "\x16\x03\x01\x02", 4, MSG_NOSIGNAL), 4);
    }
    stalled.push_back(fd);
  }
  RawTlsClient half(server_->port(), Path("ca.pem"));
  ASSERT_TRUE(half.connected());
  ASSERT_TRUE(half.Send("GET /health HTTP/1.1\r\nHost: x\r\n"));
  // 4 workers, 601 stalled connections: every request from a real client is answered.
  auto client = Client();
  for (int i = 0; i < 20; ++i) {
    auto r = client->Get("/health");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
  }
  // The half head gets its 408 over TLS; the unfinished handshakes are closed (no TLS to answer
  // in), well before the 10 s receive timeout.
  const std::string answer = half.ReadUntilClosed();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"type\""), std::string::npos) << answer;
  for (int fd : {stalled.front(), stalled[1], stalled.back()}) {
    char b[64];
    errno = 0;
    const ssize_t n = recv(fd, b, sizeof b, 0);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET))
        << "fd " << fd << ": " << n << " bytes, errno " << errno;
  }
  for (int fd : stalled) close(fd);
}

TEST_F(EventHttpsTest, KeepAlivePipelinedStreamedAndMalformedRequestsWork) {
  ASSERT_TRUE(StartServer().ok());
  // Two pipelined requests in one TLS write; the second closes the connection.
  {
    RawTlsClient c(server_->port(), Path("ca.pem"));
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
               "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               "3\r\ntwo\r\n0\r\n\r\n"));
    const std::string answers = c.ReadUntilClosed();
    EXPECT_NE(answers.find("\r\n\r\none|"), std::string::npos) << answers;
    EXPECT_NE(answers.find("\r\n\r\ntwo|"), std::string::npos) << answers;
  }
  // Malformed input over TLS: a JSON error, and the server keeps serving.
  {
    RawTlsClient c(server_->port(), Path("ca.pem"));
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("GARBAGE\r\n\r\n"));
    const std::string answer = c.ReadUntilClosed();
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"message\""), std::string::npos) << answer;
  }
  // A streamed answer arrives whole, twice on one keep-alive connection; the handler was offered
  // no raw socket (bytes written past the TLS session would corrupt it).
  auto client = Client();
  std::string expected;
  for (int i = 0; i < 40; ++i) expected += Chunk(i);
  for (int request = 0; request < 2; ++request) {
    auto r = client->Get("/stream");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, expected + "no-socket");
  }
  auto r = client->Post("/echo", std::string(200000, 'x'), "text/plain");  // many TLS records
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->body, std::string(200000, 'x') + "|");
}

TEST_F(EventHttpsTest, MutualTlsServesOnlyClientsWithACertificateFromTheCa) {
  ASSERT_TRUE(StartServer(Path("ca.pem")).ok());
  auto r = Client(Path("client.pem"), Path("client.key"))->Get("/health");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(Client()->Get("/health"));  // no certificate
  EXPECT_FALSE(Client(Path("intruder.pem"), Path("intruder.key"))->Get("/health"));
  r = Client(Path("client.pem"), Path("client.key"))->Get("/health");  // still serving
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
}

TEST_F(EventHttpsTest, AKeyThatIsNotTheCertificatesIsAClearErrorAtStart) {
  const Status s = StartServer("", Path("client.key"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot use the HTTPS certificate"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("client.key"), std::string::npos) << s.message();
  server_.reset();
}

}  // namespace
}  // namespace epara::api
