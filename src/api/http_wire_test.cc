#include "api/http_wire.h"

#include <gtest/gtest.h>

namespace epara::api {
namespace {

WireParse Head(std::string_view text, WireRequest* r, size_t* used, int* status,
               size_t max_head = 1024, int64_t max_body = 100) {
  std::string why;
  return ParseRequestHead(text, max_head, max_body, r, used, status, &why);
}

TEST(HttpWireTest, ARequestHeadIsParsedWithItsQueryHeadersAndBodyFraming) {
  WireRequest r;
  size_t used = 0;
  int status = 0;
  const std::string text =
      "\r\nPOST /v2/models/a%2Fb/infer?x=1&y=a+b%21&flag HTTP/1.1\r\nHost: h\r\n"
      "content-length: 4\r\nX-Epara-SLO-Ms:  250 \r\n\r\nbody";
  ASSERT_EQ(Head(text, &r, &used, &status), WireParse::kOk);
  EXPECT_EQ(used, text.size() - 4);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v2/models/a/b/infer");
  EXPECT_EQ(r.query.find("y")->second, "a b!");
  EXPECT_EQ(r.query.count("flag"), 1u);
  EXPECT_EQ(r.content_length, 4);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.headers.find("X-Epara-SLO-Ms")->second, "250");
  // Incomplete until the blank line; HTTP/1.0 closes unless asked to keep the connection.
  EXPECT_EQ(Head("GET / HTTP/1.1\r\nHost: h\r\n", &r, &used, &status), WireParse::kIncomplete);
  ASSERT_EQ(Head("GET / HTTP/1.0\r\n\r\n", &r, &used, &status), WireParse::kOk);
  EXPECT_FALSE(r.keep_alive);
  ASSERT_EQ(Head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, &used, &status),
            WireParse::kOk);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(Head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r, &used, &status),
            WireParse::kOk);
  EXPECT_FALSE(r.keep_alive);
}

TEST(HttpWireTest, MalformedHeadsGetTheStatusToAnswerWith) {
  const std::vector<std::pair<std::string, int>> bad = {
      {"GET\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\n\r\n", 400},
      {"GET http://x/ HTTP/1.1\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/2\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417},
      {"GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nX: " + std::string(2000, 'a'), 431},  // no end in sight
  };
  for (const auto& [text, code] : bad) {
    WireRequest r;
    size_t used = 0;
    int status = 0;
    EXPECT_EQ(Head(text, &r, &used, &status), WireParse::kBad) << text.substr(0, 50);
    EXPECT_EQ(status, code) << text.substr(0, 50);
  }
}

TEST(HttpWireTest, ChunkedBodiesDecodeAcrossExtensionsAndTrailersAndStopAtTheLimit) {
  std::string body, why;
  size_t used = 0;
  int status = 0;
  const std::string text = "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  ASSERT_EQ(DecodeChunkedBody(text, 100, &body, &used, &status, &why), WireParse::kOk);
  EXPECT_EQ(body, "abcdefg");
  EXPECT_EQ(text.substr(used), "NEXT");
  for (size_t cut = 0; cut < text.size() - 4; ++cut)  // every prefix waits for more
    EXPECT_EQ(DecodeChunkedBody(text.substr(0, cut), 100, &body, &used, &status, &why),
              WireParse::kIncomplete)
        << cut;
  EXPECT_EQ(DecodeChunkedBody("zz\r\n", 100, &body, &used, &status, &why), WireParse::kBad);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(DecodeChunkedBody("3\r\nabcX\r\n", 100, &body, &used, &status, &why), WireParse::kBad);
  EXPECT_EQ(DecodeChunkedBody("65\r\n", 100, &body, &used, &status, &why), WireParse::kBad);
  EXPECT_EQ(status, 413);
}

TEST(HttpWireTest, ResponsesAndChunkFramesAreWellFormed) {
  EXPECT_EQ(ResponseHead(200, {{"Content-Type", "text/plain"}}, false, 5, true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "Connection: keep-alive\r\n\r\n");
  EXPECT_EQ(ResponseHead(503, {}, true, 0, false),
            "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_EQ(ChunkFrame(std::string(26, 'x')), "1a\r\n" + std::string(26, 'x') + "\r\n");
  EXPECT_EQ(UrlDecode("%41%zz%4", false), "A%zz%4");
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
}

}  // namespace
}  // namespace epara::api
