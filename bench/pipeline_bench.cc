// LLM pipeline-parallelism benchmark (issue 5): decode throughput of the demo LLM
//   - whole on one node with the combined CPU share (--threads, default 2),
//   - as a 2-stage pipeline: the head engine runs layers [0, L/2) on 1 thread, a stage served by
//     a real PeerServer over loopback gRPC runs [L/2, L) on 1 thread (hidden states streamed
//     between them, KV cache per stage, --depth micro-batches in flight),
//   - whole on one small node (1 thread), for reference,
//   - the same pipeline secured as `epara up` secures it (issue 25): the cluster credential on the
//     stream and mutual TLS (P-256) on the stage's port.
// The three run interleaved, --repeats times each, at every --concurrency (sequences generating
// at once, each --prompt tokens in and --tokens out). Reported: generated tokens/s (median of the
// repeats) and pipeline / whole-on-combined-share. It also reports the weights each placement
// holds, so the "fits no single small node" budget can be read off.
//   build/bench/epara_pipeline_bench --out bench/results/pipeline_bench.json
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "llm/llm_engine.h"
#include "llm/tokenizer.h"
#include "models/demo_llm.h"
#include "peer/peer_server.h"
#include "peer/stage_link_client.h"
#include "security/certs.h"
#include "security/secrets.h"

namespace {

using namespace epara;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  std::vector<int> concurrency = {1, 4, 16};
  int prompt = 32;
  int tokens = 64;
  int repeats = 3;
  int threads = 2;
  int depth = 2;
  std::string out;
};

std::unique_ptr<llm::LlamaModel> LoadModel(const std::string& dir, int threads, int first,
                                           int end) {
  llm::LlamaLoadOptions o{"cpu", threads};
  o.first_layer = first;
  o.end_layer = end;
  std::unique_ptr<llm::LlamaModel> m;
  Status s = llm::LlamaModel::Load(dir, o, &m);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  return m;
}

std::unique_ptr<llm::LlmEngine> MakeEngine(const std::string& dir,
                                           std::unique_ptr<llm::LlamaModel> m) {
  std::unique_ptr<llm::Tokenizer> t;
  std::unique_ptr<llm::LlmEngine> e;
  if (!llm::LoadTokenizer(dir, &t).ok() ||
      !llm::LlmEngine::Create(std::move(m), std::move(t), {}, &e).ok())
    std::exit(1);
  return e;
}

// Generated tokens per second with `n` sequences at once.
double Throughput(llm::LlmEngine& e, int n, const Options& o) {
  std::vector<std::future<llm::GenerationResult>> fs;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    llm::GenerationRequest r;
    r.prompt = {llm::ByteTokenizer::kBos};
    for (int t = 0; t < o.prompt - 1; ++t) r.prompt.push_back(3 + (7 * i + 11 * t) % 250);
    r.max_tokens = o.tokens;
    r.ignore_eos = true;
    auto p = std::make_shared<std::promise<llm::GenerationResult>>();
    fs.push_back(p->get_future());
    if (!e.Submit(std::move(r), [p](llm::GenerationResult g) { p->set_value(std::move(g)); }).ok())
      std::exit(1);
  }
  int64_t generated = 0;
  for (auto& f : fs) {
    const llm::GenerationResult g = f.get();
    if (!g.status.ok()) {
      std::fprintf(stderr, "generation failed: %s\n", g.status.ToString().c_str());
      std::exit(1);
    }
    generated += g.completion_tokens;
  }
  return generated / bench::Seconds(Clock::now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"epara pipeline-parallelism benchmark"};
  app.add_option("--concurrency", o.concurrency, "sequences generating at once");
  app.add_option("--prompt", o.prompt, "prompt tokens per sequence");
  app.add_option("--tokens", o.tokens, "generated tokens per sequence");
  app.add_option("--repeats", o.repeats, "runs of each placement per concurrency");
  app.add_option("--threads", o.threads, "threads of the one-node placement (combined share)");
  app.add_option("--depth", o.depth, "micro-batches the pipeline head keeps in flight");
  app.add_option("--out", o.out, "write the results as JSON here");
  CLI11_PARSE(app, argc, argv);

  const fs::path root = fs::temp_directory_path() / ("epara_pp_bench_" + std::to_string(getpid()));
  models::DemoLlmOptions demo;
  if (!models::WriteDemoLlm(root.string(), demo).ok()) return 1;
  const std::string dir = (root / demo.name).string();
  const int layers = demo.layers, half = layers / 2;

  auto whole = MakeEngine(dir, LoadModel(dir, o.threads, 0, 0));
  auto small = MakeEngine(dir, LoadModel(dir, 1, 0, 0));
  // The second stage, served over gRPC on loopback as a node serves it.
  std::unique_ptr<llm::LlamaModel> tail = LoadModel(dir, 1, half, layers);
  std::mutex tail_mu;
  peer::PeerServerHandlers h;
  h.open_stage = [&](const std::string&, std::unique_ptr<llm::StageSession>* session,
                     std::unique_ptr<llm::StageLink>*) {
    *session = std::make_unique<llm::StageSession>(tail.get(), &tail_mu, 1 << 20);
    return Status::Ok();
  };
  std::unique_ptr<peer::PeerServer> server, secure_server;
  if (!peer::PeerServer::Start({}, h, &server).ok()) return 1;
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  // The secured stage: another server for the same layers, with a credential and mutual TLS.
  const std::string tls = (root / "tls").string();
  peer::PeerAuth auth;
  security::TlsMaterial server_tls;
  if (!security::CreateCa(tls, "bench CA").ok() ||
      !security::IssueCertificate(tls, "head", {}, tls + "/head").ok() ||
      !security::IssueCertificate(tls, "tail", {}, tls + "/tail").ok() ||
      !security::LoadTlsMaterial(tls + "/ca.pem", tls + "/head.pem", tls + "/head.key", &auth.tls)
           .ok() ||
      !security::LoadTlsMaterial(tls + "/ca.pem", tls + "/tail.pem", tls + "/tail.key", &server_tls)
           .ok() ||
      !security::RandomToken("epc-", 32, &auth.credential).ok())
    return 1;
  peer::PeerServerOptions so;
  so.credential = auth.credential;
  so.tls = server_tls;
  if (!peer::PeerServer::Start(so, std::move(h), &secure_server).ok()) return 1;
  const std::string secure_address = "127.0.0.1:" + std::to_string(secure_server->port());
  std::unique_ptr<llm::LlamaModel> head_model = LoadModel(dir, 1, 0, half);
  const int64_t head_bytes = head_model->weight_bytes(), tail_bytes = tail->weight_bytes();
  auto head = MakeEngine(dir, std::move(head_model));
  head->AttachPipeline(std::make_unique<peer::StageLinkClient>("head", demo.name, "tail",
                                                               [address](std::string* a) {
                                                                 *a = address;
                                                                 return Status::Ok();
                                                               }),
                       o.depth);
  auto secure_head = MakeEngine(dir, LoadModel(dir, 1, 0, half));
  secure_head->AttachPipeline(std::make_unique<peer::StageLinkClient>(
                                  "head", demo.name, "tail",
                                  [secure_address](std::string* a) {
                                    *a = secure_address;
                                    return Status::Ok();
                                  },
                                  auth),
                              o.depth);

  json rows = json::array();
  std::printf("%-11s %14s %14s %14s %14s %9s %9s\n", "concurrency", "whole x2 tok/s",
              "pipeline tok/s", "secured tok/s", "whole x1 tok/s", "pp/whole", "sec/pp");
  for (int n : o.concurrency) {
    (void)Throughput(*whole, n, o);  // warm
    (void)Throughput(*head, n, o);
    (void)Throughput(*secure_head, n, o);
    std::vector<double> w, p, q, s;
    for (int r = 0; r < o.repeats; ++r) {
      w.push_back(Throughput(*whole, n, o));
      if (r % 2 == 0) {  // the two pipelines in alternating order
        p.push_back(Throughput(*head, n, o));
        q.push_back(Throughput(*secure_head, n, o));
      } else {
        q.push_back(Throughput(*secure_head, n, o));
        p.push_back(Throughput(*head, n, o));
      }
      s.push_back(Throughput(*small, n, o));
    }
    const double mw = bench::Median(w), mp = bench::Median(p), mq = bench::Median(q),
                 ms = bench::Median(s);
    std::printf("%-11d %14.1f %14.1f %14.1f %14.1f %9.2f %9.2f\n", n, mw, mp, mq, ms, mp / mw,
                mq / mp);
    rows.push_back({{"concurrency", n},
                    {"whole_combined_tok_s", mw},
                    {"pipeline_2stage_tok_s", mp},
                    {"pipeline_2stage_secured_tok_s", mq},
                    {"whole_one_thread_tok_s", ms},
                    {"pipeline_over_whole", mp / mw},
                    {"secured_over_plain_pipeline", mq / mp},
                    {"runs",
                     {{"whole_combined", w},
                      {"pipeline", p},
                      {"pipeline_secured", q},
                      {"whole_one_thread", s}}}});
  }
  json result = {{"benchmark", "pipeline"},
                 {"model",
                  {{"name", demo.name},
                   {"layers", layers},
                   {"hidden", demo.hidden},
                   {"weight_bytes_whole", whole->model().weight_bytes()},
                   {"weight_bytes_stage0", head_bytes},
                   {"weight_bytes_stage1", tail_bytes}}},
                 {"setup",
                  {{"whole_threads", o.threads},
                   {"stage_threads", 1},
                   {"depth", o.depth},
                   {"prompt_tokens", o.prompt},
                   {"generated_tokens", o.tokens},
                   {"repeats", o.repeats},
                   {"stages", "head [0," + std::to_string(half) + ") in-process engine; stage [" +
                                  std::to_string(half) + "," + std::to_string(layers) +
                                  ") behind a PeerServer on loopback gRPC"}}},
                 {"rows", rows}};
  if (!o.out.empty()) std::ofstream(o.out) << result.dump(2) << "\n";
  head.reset();
  secure_head.reset();
  server->Stop();
  secure_server->Stop();
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
