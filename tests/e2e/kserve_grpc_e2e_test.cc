// KServe v2 over gRPC (issue 25): a client generated from grpc_predict_v2.proto against
// `epara serve --grpc-port` (raw and typed tensors, every output or a chosen one, metadata and
// readiness, errors with the HTTP path's meaning, API keys in the call metadata) and against a
// cluster node that forwards to the node holding the model; HTTPS and gRPC over TLS with a
// certificate (`epara serve --tls-cert --tls-key`).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "kserve_grpc/grpc_predict_v2.grpc.pb.h"
#include "server_process.h"
#include "up_fixture.h"

namespace epara {
namespace {

using inference::GRPCInferenceService;
using namespace std::chrono_literals;

// tensor-demo's inputs: a (FP32), b (INT64), c (UINT8), [1, 4] each; sum = a + b + c.
inference::ModelInferRequest DemoRequest(bool raw) {
  inference::ModelInferRequest r;
  r.set_model_name("tensor-demo");
  r.set_id("req-7");
  const float a[4] = {1, 2, 3, 4};
  const int64_t b[4] = {1, 1, 1, 1};
  const uint8_t c[4] = {0, 0, 0, 2};
  for (auto [name, dtype] :
       {std::pair{"a", "FP32"}, std::pair{"b", "INT64"}, std::pair{"c", "UINT8"}}) {
    auto* in = r.add_inputs();
    in->set_name(name);
    in->set_datatype(dtype);
    in->add_shape(1);
    in->add_shape(4);
  }
  if (raw) {
    r.add_raw_input_contents(std::string(reinterpret_cast<const char*>(a), sizeof a));
    r.add_raw_input_contents(std::string(reinterpret_cast<const char*>(b), sizeof b));
    r.add_raw_input_contents(std::string(reinterpret_cast<const char*>(c), sizeof c));
  } else {
    for (int i = 0; i < 4; ++i) {
      r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(a[i]);
      r.mutable_inputs(1)->mutable_contents()->add_int64_contents(b[i]);
      r.mutable_inputs(2)->mutable_contents()->add_uint_contents(c[i]);
    }
  }
  return r;
}

std::vector<float> Floats(const std::string& raw) {
  std::vector<float> v(raw.size() / sizeof(float));
  std::memcpy(v.data(), raw.data(), v.size() * sizeof(float));
  return v;
}

std::unique_ptr<GRPCInferenceService::Stub> Stub(int port) {
  return GRPCInferenceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// A call with `key` in its metadata (empty: none) and a deadline.
std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 60s);
  if (!key.empty()) ctx->AddMetadata("authorization", "Bearer " + key);
  return ctx;
}

class KServeGrpcE2ETest : public UpE2ETest {};

TEST_F(KServeGrpcE2ETest, AGeneratedClientInfersAndGetsTheHttpPathsErrorsAndAuth) {
  std::string out;
  ASSERT_EQ(
      testing::RunEpara(
          {"keys", "create", "--file", (root_ / "keys.yaml").string(), "--name", "app"}, &out),
      0)
      << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("epk-[0-9a-f]{48}"))) << out;
  const std::string key = m.str();
  const std::string grpc_port_file = (root_ / "grpc.port").string();
  testing::ServerProcess server;
  std::string error;
  ASSERT_TRUE(
      server.Start({"--models", (root_ / "repo").string(), "--grpc-port", "0", "--grpc-port-file",
                    grpc_port_file, "--api-keys", (root_ / "keys.yaml").string()},
                   root_.string(), &error))
      << error;
  int port = 0;
  std::ifstream(grpc_port_file) >> port;
  ASSERT_GT(port, 0);
  auto stub = Stub(port);

  // Probes need no key.
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub->ServerLive(Ctx("").get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub->ServerReady(Ctx("").get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ModelReadyRequest mr;
  mr.set_name("tensor-demo");
  inference::ModelReadyResponse model_ready;
  ASSERT_TRUE(stub->ModelReady(Ctx("").get(), mr, &model_ready).ok());
  EXPECT_TRUE(model_ready.ready());

  // Inference: without a key, UNAUTHENTICATED; with one, served, raw and typed alike.
  inference::ModelInferResponse res;
  grpc::Status s = stub->ModelInfer(Ctx("").get(), DemoRequest(true), &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = stub->ModelInfer(Ctx("epk-wrong").get(), DemoRequest(true), &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  for (bool raw : {true, false}) {
    inference::ModelInferResponse r;
    s = stub->ModelInfer(Ctx(key).get(), DemoRequest(raw), &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(r.model_name(), "tensor-demo");
    EXPECT_EQ(r.id(), "req-7");
    ASSERT_EQ(r.outputs_size(), 2);
    ASSERT_EQ(r.raw_output_contents_size(), 2);
    EXPECT_EQ(r.outputs(0).name(), "sum");
    EXPECT_EQ(r.outputs(0).datatype(), "FP32");
    EXPECT_EQ(std::vector<int64_t>(r.outputs(0).shape().begin(), r.outputs(0).shape().end()),
              (std::vector<int64_t>{1, 4}));
    EXPECT_EQ(Floats(r.raw_output_contents(0)), (std::vector<float>{2, 3, 4, 7}));
    EXPECT_EQ(r.outputs(1).datatype(), "INT64");
  }
  // One chosen output.
  inference::ModelInferRequest one = DemoRequest(true);
  one.add_outputs()->set_name("positive");
  ASSERT_TRUE(stub->ModelInfer(Ctx(key).get(), one, &res).ok());
  ASSERT_EQ(res.outputs_size(), 1);
  EXPECT_EQ(res.outputs(0).name(), "positive");
  int64_t positive = 0;
  std::memcpy(&positive, res.raw_output_contents(0).data(), sizeof positive);
  EXPECT_EQ(positive, 4);
  // Errors carry the HTTP path's meaning and message.
  inference::ModelInferRequest unknown = DemoRequest(true);
  unknown.set_model_name("no-such-model");
  s = stub->ModelInfer(Ctx(key).get(), unknown, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("no-such-model"), std::string::npos) << s.error_message();
  inference::ModelInferRequest bad = DemoRequest(true);
  bad.mutable_raw_input_contents(0)->pop_back();
  s = stub->ModelInfer(Ctx(key).get(), bad, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("input 'a'"), std::string::npos) << s.error_message();
  inference::ModelInferRequest wrong_type = DemoRequest(true);
  wrong_type.mutable_inputs(1)->set_datatype("FP32");
  wrong_type.set_raw_input_contents(1, std::string(16, '\0'));
  s = stub->ModelInfer(Ctx(key).get(), wrong_type, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  inference::ModelInferRequest no_output = DemoRequest(true);
  no_output.add_outputs()->set_name("nope");
  s = stub->ModelInfer(Ctx(key).get(), no_output, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Metadata (the infer scope).
  inference::ModelMetadataRequest mm;
  mm.set_name("tensor-demo");
  inference::ModelMetadataResponse meta;
  EXPECT_EQ(stub->ModelMetadata(Ctx("").get(), mm, &meta).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(stub->ModelMetadata(Ctx(key).get(), mm, &meta).ok());
  EXPECT_EQ(meta.name(), "tensor-demo");
  ASSERT_EQ(meta.inputs_size(), 3);
  EXPECT_EQ(meta.inputs(1).name(), "b");
  EXPECT_EQ(meta.inputs(1).datatype(), "INT64");
  EXPECT_EQ(meta.inputs(1).shape(0), -1);  // the batch dimension
  inference::ServerMetadataResponse sm;
  ASSERT_TRUE(stub->ServerMetadata(Ctx(key).get(), {}, &sm).ok());
  EXPECT_FALSE(sm.version().empty());
  // The gRPC requests ran through the HTTP path: its metrics counted them.
  httplib::Client http("127.0.0.1", server.port());
  auto metrics = http.Get("/metrics", {{"Authorization", "Bearer " + key}});
  ASSERT_TRUE(metrics && metrics->status == 200);
  EXPECT_GE(testing::MetricValue(metrics->body, "epara_inference_request_success_total",
                                 "model=\"tensor-demo\""),
            3);
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

TEST_F(KServeGrpcE2ETest, HttpsAndGrpcOverTlsServeWithACertificateAndRefusePlaintext) {
  std::string out;
  const std::string ca = (root_ / "ca").string(), other = (root_ / "other-ca").string();
  ASSERT_EQ(testing::RunEpara({"certs", "init", "--dir", ca}, &out), 0) << out;
  ASSERT_EQ(testing::RunEpara({"certs", "init", "--dir", other}, &out), 0) << out;
  ASSERT_EQ(testing::RunEpara(
                {"certs", "issue", "--dir", ca, "--name", "server", "--host", "127.0.0.1"}, &out),
            0)
      << out;
  // A key that does not belong to the certificate: a clear error at start, no server.
  EXPECT_EQ(testing::RunEpara({"serve", "--models", (root_ / "repo").string(), "--port", "0",
                               "--tls-cert", ca + "/server.pem", "--tls-key", ca + "/ca.key"},
                              &out),
            1)
      << out;
  EXPECT_NE(out.find("cannot use the HTTPS certificate"), std::string::npos) << out;
  EXPECT_EQ(
      testing::RunEpara(
          {"serve", "--models", (root_ / "repo").string(), "--tls-cert", ca + "/server.pem"}, &out),
      2)
      << out;

  const std::string grpc_port_file = (root_ / "grpc-tls.port").string();
  testing::ServerProcess server;
  std::string error;
  ASSERT_TRUE(server.Start(
      {"--models", (root_ / "repo").string(), "--grpc-port", "0", "--grpc-port-file",
       grpc_port_file, "--tls-cert", ca + "/server.pem", "--tls-key", ca + "/server.key"},
      root_.string(), &error))
      << error;
  auto https = [&](const std::string& ca_file) {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server.port());
    c->set_ca_cert_path(ca_file.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(10);
    c->set_read_timeout(60);
    return c;
  };
  const std::string body =
      R"({"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},)"
      R"({"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},)"
      R"({"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]})";
  for (int round = 0; round < 2; ++round) {  // again after the refused clients below
    auto res =
        https(ca + "/ca.pem")->Post("/v2/models/tensor-demo/infer", body, "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error()) << "\n" << server.Log();
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_NE(res->body.find("\"sum\""), std::string::npos) << res->body;
    if (round == 1) break;
    // Plain HTTP on the HTTPS port, and a client that trusts another CA: no answer.
    httplib::Client plain("127.0.0.1", server.port());
    plain.set_connection_timeout(10);
    plain.set_read_timeout(10);
    auto p = plain.Get("/v2/health/ready");
    EXPECT_TRUE(!p || p->status != 200);
    EXPECT_FALSE(https(other + "/ca.pem")->Get("/v2/health/ready"));
  }

  // gRPC over TLS: a client trusting the CA is served; a plaintext channel is not.
  int port = 0;
  std::ifstream(grpc_port_file) >> port;
  ASSERT_GT(port, 0);
  std::ifstream ca_in(ca + "/ca.pem");
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs.assign(std::istreambuf_iterator<char>(ca_in), {});
  auto secure = GRPCInferenceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(tls)));
  inference::ModelInferResponse r;
  grpc::Status s = secure->ModelInfer(Ctx("").get(), DemoRequest(true), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(r.raw_output_contents_size(), 2);
  EXPECT_EQ(Floats(r.raw_output_contents(0)), (std::vector<float>{2, 3, 4, 7}));
  auto ctx = Ctx("");
  ctx->set_deadline(std::chrono::system_clock::now() + 5s);
  inference::ServerLiveResponse live;
  EXPECT_FALSE(Stub(port)->ServerLive(ctx.get(), {}, &live).ok());
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(KServeGrpcE2ETest, ANodeForwardsAGrpcInferenceToTheNodeHoldingTheModel) {
  std::ofstream(root_ / "g.yaml") << "models: repo\nnodes:\n"
                                     "  - {id: a, class: edge-server, serve: [seg-demo], "
                                     "cpu_threads: 1, grpc_port: 0}\n"
                                     "  - {id: b, class: edge-server, serve: [tensor-demo], "
                                     "cpu_threads: 1}\n";
  testing::ChildProcess up;
  const json ep = StartUp("g", &up);
  ASSERT_TRUE(ep.is_object());
  int grpc_a = 0;
  for (const auto& n : ep["nodes"])
    if (n["id"] == "a") grpc_a = n["grpc_port"].get<int>();
  ASSERT_GT(grpc_a, 0) << ep.dump();
  auto stub = Stub(grpc_a);
  inference::ModelInferResponse res;
  grpc::Status s;
  for (auto until = Clock::now() + 30s; Clock::now() < until;) {  // until a routes to b
    s = stub->ModelInfer(Ctx("").get(), DemoRequest(true), &res);
    if (s.ok()) break;
    std::this_thread::sleep_for(50ms);  // polling the cluster's state, bounded
  }
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << up.Log();
  EXPECT_EQ(Floats(res.raw_output_contents(0)), (std::vector<float>{2, 3, 4, 7}));
  inference::ModelReadyRequest mr;
  mr.set_name("tensor-demo");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub->ModelReady(Ctx("").get(), mr, &ready).ok());
  EXPECT_TRUE(ready.ready());  // answered by b, through a
  EXPECT_EQ(up.Stop(60s), 0) << up.Log();
}

}  // namespace
}  // namespace epara
