#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "peer/peer_client.h"
#include "peer/peer_server.h"
#include "testing/child_process.h"

namespace epara::peer {
namespace {

using namespace std::chrono_literals;

// A peer server whose handlers record what they get.
class PeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PeerServerHandlers h;
    h.is_peer = [](const std::string& id) { return id == "a" || id == "b"; };
    h.on_digest = [this](const cluster::LoadDigest& d) {
      std::lock_guard<std::mutex> lock(mu_);
      digests_.push_back(d);
      cv_.notify_all();
    };
    h.on_forward = [](const api::HttpRequest& req, api::HttpResponse* res) {
      if (req.path == "/endless") {  // chunks every 20 ms until the writer fails (bounded: 20 s)
        res->content_type = "text/event-stream";
        res->stream = [](const api::ChunkWriter& w) {
          for (int i = 0; i < 1000; ++i) {
            if (!w("data: " + std::to_string(i) + "\n\n")) return;
            std::this_thread::sleep_for(20ms);  // the pace of a token stream, not a synchronization
          }
        };
        return;
      }
      if (req.path == "/stream") {
        res->content_type = "text/event-stream";
        res->stream = [](const api::ChunkWriter& w) {
          for (int i = 0; i < 3; ++i)
            if (!w("data: " + std::to_string(i) + "\n\n")) return;
        };
        return;
      }
      res->status = 201;
      res->headers.emplace_back("x-echo", req.Query("q"));
      res->body = req.method + " " + req.path + " " + req.body + " " + req.Header("x-h");
    };
    ASSERT_TRUE(PeerServer::Start({}, h, &server_).ok());
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  // Waits (bounded) until a digest with `sequence` arrived; returns everything received.
  std::vector<cluster::LoadDigest> WaitForSequence(uint64_t sequence) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 10s,
                 [&] { return !digests_.empty() && digests_.back().sequence >= sequence; });
    return digests_;
  }

  std::unique_ptr<PeerServer> server_;
  std::string address_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<cluster::LoadDigest> digests_;
};

cluster::LoadDigest Digest(const std::string& node, uint64_t seq) {
  cluster::LoadDigest d;
  d.node_id = node;
  d.epoch = 7;
  d.sequence = seq;
  d.cpu_utilization = 0.5;
  d.free_memory_bytes = 123456789;
  d.instances.push_back({"seg", 3, 1, 12.5, 30.0, 0.75, true});
  cluster::InstanceLoad llm;
  llm.model = "llm";
  llm.queued_prompt_tokens = 4321;
  llm.prefill_ms_per_token = 0.75;
  llm.decode_step_ms = 12.5;
  d.instances.push_back(llm);
  return d;
}

TEST_F(PeerTest, DigestsArriveInOrderWithEveryField) {
  PeerClient client("a", "server", address_);
  for (uint64_t s = 1; s <= 5; ++s) client.PublishDigest(Digest("a", s));
  const auto got = WaitForSequence(5);
  ASSERT_FALSE(got.empty());
  // Publishing replaces a digest not yet sent: some may be skipped, never reordered.
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1].sequence, got[i].sequence);
  const cluster::LoadDigest& d = got.back();
  EXPECT_EQ(d.node_id, "a");
  EXPECT_EQ(d.epoch, 7u);
  EXPECT_FLOAT_EQ(d.cpu_utilization, 0.5);
  EXPECT_EQ(d.free_memory_bytes, 123456789u);
  ASSERT_EQ(d.instances.size(), 2u);
  EXPECT_EQ(d.instances[1].model, "llm");
  EXPECT_EQ(d.instances[1].queued_prompt_tokens, 4321u);
  EXPECT_FLOAT_EQ(d.instances[1].prefill_ms_per_token, 0.75);
  EXPECT_FLOAT_EQ(d.instances[1].decode_step_ms, 12.5);
  EXPECT_EQ(d.instances[0].model, "seg");
  EXPECT_EQ(d.instances[0].queue_length, 3u);
  EXPECT_EQ(d.instances[0].in_flight, 1u);
  EXPECT_FLOAT_EQ(d.instances[0].expected_wait_ms, 12.5);
  EXPECT_FLOAT_EQ(d.instances[0].batch_occupancy, 0.75);
  EXPECT_EQ(server_->digests_received(), got.size());
}

TEST_F(PeerTest, UnknownPeersAreRefusedAndTheServerKeepsServing) {
  {
    PeerClient stranger("mallory", "server", address_);
    stranger.PublishDigest(Digest("mallory", 1));
    api::HttpRequest req;
    req.method = "POST";
    req.path = "/x";
    api::HttpResponse res;
    bool started = true;
    Status s = stranger.Forward(req, &res, &started, 5s);
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(started);
  }
  // Garbage bytes on the gRPC port (not HTTP/2 at all).
  int fd = epara::testing::FreeLoopbackPort() > 0 ? socket(AF_INET, SOCK_STREAM, 0) : -1;
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char junk[] = "\x00\x01garbage that is not a gRPC preface\r\n\r\n";
  ASSERT_GT(write(fd, junk, sizeof junk), 0);
  close(fd);
  // A malformed forward (no method) from a known peer.
  PeerClient a("a", "server", address_);
  api::HttpRequest bad;
  bad.path = "relative";
  api::HttpResponse res;
  bool started = true;
  EXPECT_FALSE(a.Forward(bad, &res, &started, 5s).ok());
  EXPECT_FALSE(started);
  // Still serving.
  a.PublishDigest(Digest("a", 42));
  EXPECT_EQ(WaitForSequence(42).back().sequence, 42u);
  EXPECT_GE(server_->refused(), 2u);
  for (const auto& d : digests_) EXPECT_NE(d.node_id, "mallory");
}

TEST_F(PeerTest, ForwardCarriesTheRequestAndTheReply) {
  PeerClient client("b", "server", address_);
  api::HttpRequest req;
  req.method = "POST";
  req.path = "/v1/segment/seg";
  req.body = std::string("\x89PNG\x00\x01", 6);
  req.query.emplace("q", "42");
  req.headers.emplace("x-h", "hv");
  api::HttpResponse res;
  bool started = false;
  ASSERT_TRUE(client.Forward(req, &res, &started, 5s).ok());
  EXPECT_TRUE(started);
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, "POST /v1/segment/seg " + req.body + " hv");
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].second, "42");
  EXPECT_FALSE(res.stream);
}

TEST_F(PeerTest, StreamedRepliesAreRelayedChunkByChunk) {
  PeerClient client("b", "server", address_);
  api::HttpRequest req;
  req.method = "POST";
  req.path = "/stream";
  api::HttpResponse res;
  bool started = false;
  ASSERT_TRUE(client.Forward(req, &res, &started, 5s).ok());
  ASSERT_TRUE(res.stream);
  EXPECT_EQ(res.content_type, "text/event-stream");
  std::vector<std::string> chunks;
  res.stream([&](std::string_view c) {
    chunks.emplace_back(c);
    return true;
  });
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2], "data: 2\n\n");
}

// A TCP relay between a client and a server that a test can cut (both connections reset: the
// server's host died) or black-hole (bytes read and dropped both ways, nothing closed: the server
// is cut off by a partition).
class Relay {
 public:
  explicit Relay(int upstream_port) : upstream_(upstream_port) {
    listen_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(listen_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(listen_, 16) != 0 ||
        getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~Relay() {
    stop_ = true;
    shutdown(listen_, SHUT_RDWR);
    close(listen_);
    accept_.join();
    for (std::thread& t : pumps_) t.join();
  }
  int port() const { return port_; }
  void BlackHole() { black_hole_ = true; }
  void Cut() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) {
      linger l{1, 0};  // close with a reset
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      shutdown(fd, SHUT_RDWR);
    }
  }

 private:
  void AcceptLoop() {
    for (;;) {
      const int in = accept(listen_, nullptr, nullptr);
      if (in < 0) return;
      const int out = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(upstream_);
      if (connect(out, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        close(in);
        close(out);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(in);
      fds_.push_back(out);
      pumps_.emplace_back([this, in, out] { Pump(in, out); });
    }
  }
  void Pump(int a, int b) {
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (!stop_) {
      if (poll(p, 2, 50) < 0) break;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = read(p[i].fd, buf, sizeof(buf));
        if (n <= 0)
          closed = true;
        else if (!black_hole_ && send(p[1 - i].fd, buf, n, MSG_NOSIGNAL) != n)
          closed = true;
      }
      if (closed) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    close(a);
    close(b);
    std::erase(fds_, a);
    std::erase(fds_, b);
  }

  const int upstream_;
  int listen_ = -1, port_ = 0;
  std::atomic<bool> stop_{false}, black_hole_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::thread accept_;
};

// Forwards /endless through `relay`, breaks the relay with `fault` once three chunks arrived, and
// returns what the client's stream received (and how long the stream took to end after the fault).
std::string StreamBrokenBy(const std::string& server, Relay& relay,
                           const std::function<void()>& fault, double* seconds_after) {
  PeerClient client("b", server, "127.0.0.1:" + std::to_string(relay.port()));
  api::HttpRequest req;
  req.method = "POST";
  req.path = "/endless";
  api::HttpResponse res;
  bool started = false;
  if (!client.Forward(req, &res, &started, 30s).ok() || !res.stream) return "no stream";
  std::string got;
  int chunks = 0;
  std::chrono::steady_clock::time_point faulted;
  res.stream([&](std::string_view c) {
    got += c;
    if (++chunks == 3) {
      faulted = std::chrono::steady_clock::now();
      fault();
    }
    return true;
  });
  *seconds_after =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - faulted).count();
  return got;
}

// "error event, [DONE]" when `got` ends with an error event naming node "server" and then
// [DONE]; else the stream's last 200 bytes.
std::string EndingOf(const std::string& got) {
  const std::string done = "data: [DONE]\n\n";
  const size_t error = got.rfind("data: {\"error\"");
  if (got.size() > done.size() && got.compare(got.size() - done.size(), done.size(), done) == 0 &&
      error != std::string::npos &&
      got.find("node server failed mid-stream", error) != std::string::npos)
    return "error event, [DONE]";
  return got.substr(got.size() > 200 ? got.size() - 200 : 0);
}

// How a relayed token stream's serving node breaks off: it dies (its connections reset), or it
// is cut off without a reset (a partition: nothing arrives, nothing is closed), which the
// keep-alive pings notice (every 1 s, answered within 2 s: ~3 s).
struct BreakOff {
  const char* name;
  bool silent;
  double within_s;  // the stream ends this soon after the fault
};

class PeerStreamBreakTest : public PeerTest, public ::testing::WithParamInterface<BreakOff> {};

// Either way the client's stream ends with an error event naming the node, then [DONE]: not a
// silent cut, not a wait until the link heals.
TEST_P(PeerStreamBreakTest, TheClientsStreamEndsWithAnErrorEventAndDoneWithinSeconds) {
  Relay relay(server_->port());
  double after = 0;
  const std::string got = StreamBrokenBy(
      "server", relay, [&] { GetParam().silent ? relay.BlackHole() : relay.Cut(); }, &after);
  EXPECT_EQ(EndingOf(got), "error event, [DONE]");
  EXPECT_LT(after, GetParam().within_s);
  RecordProperty("seconds_to_notice", std::to_string(after));
}

INSTANTIATE_TEST_SUITE_P(Faults, PeerStreamBreakTest,
                         ::testing::Values(BreakOff{"NodeDied", false, 5.0},
                                           BreakOff{"NodeFellSilent", true, 6.0}),
                         [](const ::testing::TestParamInfo<BreakOff>& i) {
                           return std::string(i.param.name);
                         });

TEST(PeerClientTest, ANodeThatIsDownIsNotStarted) {
  PeerClient client("a", "gone", "127.0.0.1:" + std::to_string(epara::testing::FreeLoopbackPort()));
  api::HttpRequest req;
  req.method = "GET";
  req.path = "/";
  api::HttpResponse res;
  bool started = true;
  Status s = client.Forward(req, &res, &started, 2s);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(started);
}

}  // namespace
}  // namespace epara::peer

namespace epara::peer {
namespace {

// With a cluster credential, the server runs nothing for a caller that lacks it: no forward
// starts, no digest is taken, each refusal is reported (without the secret), and calls that carry
// it are served as before.
TEST(PeerCredentialTest, CallsWithoutTheClusterCredentialAreRefusedAndReported) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> refusals;
  std::vector<uint64_t> sequences;
  std::atomic<int> forwards{0};
  PeerServerHandlers h;
  h.on_digest = [&](const cluster::LoadDigest& d) {
    std::lock_guard<std::mutex> lock(mu);
    sequences.push_back(d.sequence);
    cv.notify_all();
  };
  h.on_forward = [&](const api::HttpRequest&, api::HttpResponse* res) {
    forwards++;
    res->body = "ran";
  };
  h.on_refused = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    refusals.push_back(why);
    cv.notify_all();
  };
  PeerServerOptions o;
  o.credential = "cluster-secret";
  std::unique_ptr<PeerServer> server;
  ASSERT_TRUE(PeerServer::Start(o, h, &server).ok());
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  api::HttpRequest req;
  req.method = "POST";
  req.path = "/v2/models/m/infer";
  PeerClient none("a", "server", address);
  PeerClient wrong("a", "server", address, {"a-guess", {}});
  PeerClient member("a", "server", address, {"cluster-secret", {}});
  for (PeerClient* c : {&none, &wrong}) {
    api::HttpResponse res;
    bool started = true;
    EXPECT_FALSE(c->Forward(req, &res, &started, 5s).ok());
    EXPECT_FALSE(started);  // refused before it began: the origin may retry elsewhere
    c->PublishDigest(Digest("a", 5));
  }
  api::HttpResponse res;
  bool started = false;
  ASSERT_TRUE(member.Forward(req, &res, &started, 5s).ok());
  EXPECT_TRUE(started);
  EXPECT_EQ(res.body, "ran");
  EXPECT_EQ(forwards.load(), 1);
  member.PublishDigest(Digest("a", 9));
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] {
    bool no_cred = false, wrong_cred = false;
    for (const std::string& r : refusals) {
      no_cred |= r.find("SyncDigests") != std::string::npos &&
                 r.find("no cluster credential") != std::string::npos;
      wrong_cred |= r.find("SyncDigests") != std::string::npos &&
                    r.find("a wrong cluster credential") != std::string::npos;
    }
    return no_cred && wrong_cred && !sequences.empty();
  }));
  EXPECT_EQ(sequences, std::vector<uint64_t>{9});  // the refused streams' digest never arrived
  int forward_refusals = 0;
  for (const std::string& r : refusals) {
    forward_refusals += r.rfind("Forward", 0) == 0;
    EXPECT_EQ(r.find("a-guess"), std::string::npos) << r;
    EXPECT_EQ(r.find("cluster-secret"), std::string::npos) << r;
  }
  EXPECT_EQ(forward_refusals, 2);
  EXPECT_GE(server->refused(), 4u);
}

}  // namespace
}  // namespace epara::peer

namespace epara::peer {
namespace {

// Mutual TLS on the peer port: a client whose certificate chains to the cluster CA is served; one
// with a certificate from another CA, or none (plaintext), fails before anything runs.
TEST(PeerTlsTest, OnlyClientsWithACertificateFromTheClusterCaAreServed) {
  const std::string dir = ::testing::TempDir() + "/peer_tls_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(security::CreateCa(dir + "/ca", "cluster").ok());
  ASSERT_TRUE(security::CreateCa(dir + "/other", "stranger").ok());
  ASSERT_TRUE(security::IssueCertificate(dir + "/ca", "server", {}, dir + "/server").ok());
  ASSERT_TRUE(security::IssueCertificate(dir + "/ca", "a", {}, dir + "/a").ok());
  ASSERT_TRUE(security::IssueCertificate(dir + "/other", "mallory", {}, dir + "/mallory").ok());
  auto material = [&](const std::string& ca, const std::string& who) {
    security::TlsMaterial m;
    EXPECT_TRUE(security::LoadTlsMaterial(dir + "/" + ca + "/ca.pem", dir + "/" + who + ".pem",
                                          dir + "/" + who + ".key", &m)
                    .ok());
    return m;
  };
  std::atomic<int> forwards{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> sequences;
  PeerServerHandlers h;
  h.on_forward = [&](const api::HttpRequest&, api::HttpResponse* res) {
    forwards++;
    res->body = "ran";
  };
  h.on_digest = [&](const cluster::LoadDigest& d) {
    std::lock_guard<std::mutex> lock(mu);
    sequences.push_back(d.sequence);
    cv.notify_all();
  };
  PeerServerOptions o;
  o.tls = material("ca", "server");
  std::unique_ptr<PeerServer> server;
  ASSERT_TRUE(PeerServer::Start(o, h, &server).ok());
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  api::HttpRequest req;
  req.method = "POST";
  req.path = "/x";
  {
    PeerClient plaintext("a", "server", address);
    // Trusts the cluster CA but presents another CA's certificate.
    PeerClient stranger("a", "server", address, {"", material("ca", "mallory")});
    // Presents a valid client certificate but trusts another CA (would not accept the server).
    PeerClient wrong_trust("a", "server", address, {"", material("other", "a")});
    for (PeerClient* c : {&plaintext, &stranger, &wrong_trust}) {
      api::HttpResponse res;
      bool started = true;
      EXPECT_FALSE(c->Forward(req, &res, &started, 5s).ok());
      EXPECT_FALSE(started);
      c->PublishDigest(Digest("a", 5));  // never taken (checked below)
    }
  }
  EXPECT_EQ(forwards.load(), 0);
  // A member's certificate speaks for that member only: b's certificate claiming to be a.
  ASSERT_TRUE(security::IssueCertificate(dir + "/ca", "b", {}, dir + "/b").ok());
  {
    PeerClient impostor("a", "server", address, {"", material("ca", "b")});
    api::HttpResponse res;
    bool started = true;
    Status s = impostor.Forward(req, &res, &started, 5s);
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(started);
    EXPECT_NE(s.message().find("the certificate of 'b' was presented for node 'a'"),
              std::string::npos)
        << s.message();
  }
  EXPECT_EQ(forwards.load(), 0);
  PeerClient member("a", "server", address, {"", material("ca", "a")});
  member.PublishDigest(Digest("a", 9));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !sequences.empty(); }));
    EXPECT_EQ(sequences, std::vector<uint64_t>{9});
  }
  api::HttpResponse res;
  bool started = false;
  ASSERT_TRUE(member.Forward(req, &res, &started, 5s).ok());
  EXPECT_TRUE(started);
  EXPECT_EQ(res.body, "ran");
  EXPECT_EQ(forwards.load(), 1);
  server->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace epara::peer
