// peer_bench: epara's LLM engine against llama.cpp on the same weights, in one sitting.
//
// The model: one Hugging Face folder (--model, or a generated untrained model of --shape: demo,
// stories15m (dim 288, 6 layers, vocab 32000) or 134m (dim 768, 12 layers, vocab 32000)) and the
// GGUF file written from it here (llm/gguf_export.h: the same weights). bench/peer/run.sh builds
// llama.cpp from the npm bundle and runs this for each shape. Each round measures, in alternating
// order (ABBA), llama.cpp's `llama-bench` (a child process, -r repetitions, its mean) and epara's
// engine in this process (the same number of repetitions, the mean):
//   prefill of --prompts tokens (tokens/s of one prompt from an empty cache),
//   decode at batch 1 (tokens/s of --decode-tokens steps after a one-token prompt),
// with the same thread count. Ratios epara / llama.cpp are per round; the report gives medians.
//
// Weight types (--weights): f32, bf16, q8_0, q4_0, q4_k, q6_k, q4_k_m. epara loads the very GGUF
// file llama.cpp runs (llm/gguf_llama.h). The file is written by epara's exporter, or, with
// --llama-quantize, by llama.cpp's llama-quantize from the F32 export (its own block fitting and
// its Q4_K_M recipe). --llama-server adds the teacher-forced agreement: a sequence of
// --agreement-tokens tokens, epara's argmax at every position (one forward over the sequence) vs
// llama-server's greedy next token after every prefix of it (f32 KV cache on both sides).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/host_allocator.h"
#include "formats/gguf.h"
#include "llm/gguf_export.h"
#include "llm/llama_model.h"
#include "models/demo_llm.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

using bench::Median;
using bench::Seconds;

// Runs `command` and returns its standard output; false when it fails.
bool RunCapture(const std::string& command, std::string* out) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return false;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  return pclose(p) == 0;
}

// llama-bench's mean tokens/s for one test: a prompt of `prompt` tokens (gen 0) or `gen`
// generated tokens (prompt 0). 0 on failure.
double LlamaBench(const std::string& exe, const std::string& gguf, int threads, int prompt, int gen,
                  int reps, const std::string& kv) {
  std::ostringstream cmd;
  cmd << exe << " -m " << gguf << " -t " << threads << " -p " << prompt << " -n " << gen << " -r "
      << reps << " -ctk " << kv << " -ctv " << kv << " -o json 2>/dev/null";
  std::string out;
  if (!RunCapture(cmd.str(), &out)) {
    std::fprintf(stderr, "llama-bench failed: %s\n", cmd.str().c_str());
    return 0;
  }
  const json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) {
    std::fprintf(stderr, "llama-bench printed no JSON: %s\n", out.substr(0, 300).c_str());
    return 0;
  }
  return j[0].value("avg_ts", 0.0);
}

// epara: mean tokens/s of `reps` prefills of `len` tokens, each into an empty cache.
double EparaPrefill(llm::LlamaModel& m, int len, int reps) {
  std::vector<int32_t> prompt(len);
  for (int i = 0; i < len; ++i) prompt[i] = 3 + (i * 13) % (m.config().vocab_size - 3);
  std::vector<float> logits;
  double sum = 0;
  for (int r = -1; r < reps; ++r) {  // one warm-up, as llama-bench does
    auto cache = m.NewCache(len);
    llm::LlamaModel::Chunk c{prompt, cache.get()};
    const auto t0 = Clock::now();
    (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    if (r >= 0) sum += len / Seconds(Clock::now() - t0);
  }
  return sum / reps;
}

// epara: mean tokens/s of `reps` runs of `gen` decode steps at batch 1 after a one-token prompt.
double EparaDecode(llm::LlamaModel& m, int gen, int reps) {
  std::vector<float> logits;
  double sum = 0;
  for (int r = -1; r < reps; ++r) {
    auto cache = m.NewCache(gen + 2);
    int32_t token = 1;
    llm::LlamaModel::Chunk c{std::span(&token, 1), cache.get()};
    (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    const auto t0 = Clock::now();
    for (int s = 0; s < gen; ++s) {
      token = static_cast<int32_t>(3 + (s * 7) % 200);
      (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    }
    if (r >= 0) sum += gen / Seconds(Clock::now() - t0);
  }
  return sum / reps;
}

// A free loopback port (bound and released; llama-server binds it right after).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return 0;
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// Teacher-forced top-1 agreement between epara (this process, the GGUF loaded by epara) and
// llama-server on the same file: the fraction of positions where both predict the same next token.
// -1 on failure. The server is a child process, stopped by its PID.
double Agreement(llm::LlamaModel& m, const std::string& server_exe, const std::string& kv,
                 const std::string& gguf, int threads, int tokens, json* detail) {
  std::vector<std::string> tokenizer_pieces;  // the file's token strings, when it has them
  {
    std::unique_ptr<formats::GgufFile> f;
    if (formats::GgufFile::Open(gguf, &f).ok() &&
        !f->GetStringArray("tokenizer.ggml.tokens", &tokenizer_pieces).ok())
      tokenizer_pieces.clear();
    std::string model;
    if (f && f->GetString("tokenizer.ggml.model", &model).ok() && model != "llama")
      tokenizer_pieces.clear();  // byte-level vocabularies: ids 3 + byte
  }
  const int vocab = m.config().vocab_size;
  std::vector<int32_t> seq = {1};  // BOS, then deterministic ids away from the special ones
  for (int i = 1; i < tokens; ++i)
    seq.push_back(3 + static_cast<int32_t>((i * 7919u) % (vocab - 3)));
  auto cache = m.NewCache(tokens);
  std::vector<float> logits;
  if (!m.Forward(seq, cache.get(), &logits).ok()) return -1;
  std::vector<int32_t> ours(tokens);
  for (int i = 0; i < tokens; ++i) {
    const float* row = logits.data() + static_cast<size_t>(i) * vocab;
    ours[i] = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
  }
  // Byte tokens >= 0x80 of the byte vocabulary (ids 3 + byte) and of SentencePiece ones (<0x80>..).
  const auto high_byte = [&](int32_t id) {
    const std::string piece = tokenizer_pieces.empty() ? "" : tokenizer_pieces[id];
    return piece.empty() ? (id >= 3 + 0x80 && id < 3 + 256)
                         : piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece[3] >= '8';
  };
  const int port = FreePort();
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string t = std::to_string(threads), p = std::to_string(port),
                      c = std::to_string(std::max(512, tokens + 8));
    execl(server_exe.c_str(), server_exe.c_str(), "-m", gguf.c_str(), "-t", t.c_str(), "--host",
          "127.0.0.1", "--port", p.c_str(), "-c", c.c_str(), "-np", "1", "-ctk", kv.c_str(), "-ctv",
          kv.c_str(), "--log-disable", static_cast<char*>(nullptr));
    _exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  bool up = false;
  for (int i = 0; i < 600 && !up; ++i) {  // up to 60 s to load
    auto r = client.Get("/health");
    up = r && r->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // llama-server answers 500 when the one generated token is not valid UTF-8 on its own (a byte
  // token >= 0x80: its output parser rejects the text); such positions are counted apart, with
  // how many of them epara also predicts a token of that kind.
  int same = 0, answered = 0, unanswered = 0, unanswered_epara_high_byte = 0;
  std::vector<int32_t> theirs;
  std::vector<double> margins;
  for (int i = 1; up && i <= tokens; ++i) {  // the prefix seq[0, i) predicts position i - 1's row
    json body = {{"prompt", std::vector<int32_t>(seq.begin(), seq.begin() + i)},
                 {"n_predict", 1},
                 {"temperature", 0},
                 {"cache_prompt", true},
                 {"return_tokens", true}};
    auto r = client.Post("/completion", body.dump(), "application/json");
    if (r && r->status == 500 && r->body.find("does not match") != std::string::npos) {
      theirs.push_back(-1);
      ++unanswered;
      unanswered_epara_high_byte += high_byte(ours[i - 1]) ? 1 : 0;
      continue;
    }
    if (!r || r->status != 200) break;
    const json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("tokens") || j["tokens"].empty()) break;
    theirs.push_back(j["tokens"][0].get<int32_t>());
    same += theirs.back() == ours[i - 1] ? 1 : 0;
    ++answered;
    if (theirs.back() != ours[i - 1] && theirs.back() >= 0 && theirs.back() < vocab) {
      // How close a call it was for epara: its top logit minus its logit of llama.cpp's choice,
      // in units of the row's standard deviation (random weights give flat rows, near-ties).
      const float* row = logits.data() + static_cast<size_t>(i - 1) * vocab;
      double mean = 0, sq = 0;
      for (int v = 0; v < vocab; ++v) mean += row[v];
      mean /= vocab;
      for (int v = 0; v < vocab; ++v) sq += (row[v] - mean) * (row[v] - mean);
      const double sd = std::sqrt(sq / vocab);
      margins.push_back(sd > 0 ? (row[ours[i - 1]] - row[theirs.back()]) / sd : 0);
    }
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  if (answered + unanswered < tokens || answered == 0) return -1;
  *detail = {{"positions", tokens},
             {"answered", answered},
             {"agreeing", same},
             {"unanswered_invalid_utf8", unanswered},
             {"unanswered_where_epara_predicts_a_high_byte", unanswered_epara_high_byte},
             {"mismatch_margins_in_row_sd", margins},
             {"epara", ours},
             {"llama_cpp", theirs}};
  return static_cast<double>(same) / answered;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, llama_bench, out, shape = "demo", weights = "f32";
  int rounds = 3, reps = 3, decode_tokens = 64, threads = 0;
  std::vector<int> prompts = {128, 512};
  CLI::App app{"epara vs llama.cpp on the same weights: prefill and batch-1 decode"};
  app.add_option("--model", model_dir, "Hugging Face folder (default: generate --shape)");
  app.add_option("--shape", shape, "Generated model: demo, stories15m or 134m")
      ->check(CLI::IsMember({"demo", "stories15m", "134m"}))
      ->capture_default_str();
  app.add_option("--llama-bench", llama_bench, "llama.cpp's llama-bench executable")->required();
  std::string llama_quantize, llama_server;
  int agreement_tokens = 128;
  app.add_option("--weights", weights,
                 "Weight matrices of the GGUF both sides run: f32, bf16 (needs --llama-quantize), "
                 "q8_0, q4_0, q4_k, q6_k or q4_k_m")
      ->check(CLI::IsMember({"f32", "bf16", "q8_0", "q4_0", "q4_k", "q6_k", "q4_k_m"}))
      ->capture_default_str();
  app.add_option("--llama-quantize", llama_quantize,
                 "llama.cpp's llama-quantize: quantize the F32 export with it (q8_0, q4_0, q6_k, "
                 "q4_k_m) instead of with epara's exporter");
  app.add_option("--llama-server", llama_server,
                 "llama.cpp's llama-server: also measure teacher-forced top-1 agreement");
  app.add_option("--agreement-tokens", agreement_tokens, "Sequence length for the agreement")
      ->capture_default_str();
  std::string keep_gguf;
  app.add_option("--keep-gguf", keep_gguf, "Copy the GGUF both sides ran to this path");
  app.add_option("--rounds", rounds, "Interleaved rounds")->capture_default_str();
  app.add_option("--reps", reps, "Repetitions per measurement (both sides)")->capture_default_str();
  app.add_option("--prompts", prompts, "Prompt lengths")->delimiter(',')->capture_default_str();
  app.add_option("--decode-tokens", decode_tokens, "Decode steps")->capture_default_str();
  app.add_option("--threads", threads, "Threads on both sides (0: all cores)")
      ->capture_default_str();
  std::string kv = "f16";
  app.add_option("--kv", kv,
                 "KV cache type on both sides (f16: llama.cpp's default and epara's on cpu)")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);
  ConfigureHostAllocatorForInference();
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("epara_peer_bench_" + std::to_string(getpid()));
  if (model_dir.empty()) {
    models::DemoLlmOptions o;
    if (shape == "stories15m") {
      o.hidden = 288, o.layers = 6, o.heads = 6, o.kv_heads = 6, o.intermediate = 768;
      o.vocab = 32000;
    } else if (shape == "134m") {
      o.hidden = 768, o.layers = 12, o.heads = 12, o.kv_heads = 12, o.intermediate = 2048;
      o.vocab = 32000;
    }
    if (!models::WriteDemoLlm(tmp.string(), o).ok()) return 1;
    model_dir = (tmp / "llama-demo").string();
  } else {
    shape = model_dir;
  }
  const std::string gguf = (tmp / ("model-" + weights + ".gguf")).string();
  fs::create_directories(tmp);
  llm::GgufExportOptions export_options;
  const std::map<std::string, formats::GgmlType> types = {
      {"f32", formats::GgmlType::kF32},   {"q8_0", formats::GgmlType::kQ8_0},
      {"q4_0", formats::GgmlType::kQ4_0}, {"q4_k", formats::GgmlType::kQ4_K},
      {"q6_k", formats::GgmlType::kQ6_K}, {"q4_k_m", formats::GgmlType::kQ4_K}};
  const bool by_llama = !llama_quantize.empty() && weights != "f32" && weights != "q4_k";
  if (weights == "bf16" && !by_llama) {
    std::fprintf(stderr, "--weights bf16 is written by llama-quantize: give --llama-quantize\n");
    return 1;
  }
  if (!by_llama) {
    export_options.matrices = types.at(weights);
    export_options.k_mix = weights == "q4_k_m";
  }
  const std::string exported = by_llama ? (tmp / "model-f32.gguf").string() : gguf;
  if (Status s = llm::ExportLlamaGguf(model_dir, exported, export_options); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  if (by_llama) {
    std::string upper = weights;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::string ignored;
    const std::string cmd =
        llama_quantize + " " + exported + " " + gguf + " " + upper + " >/dev/null 2>&1";
    if (!RunCapture(cmd, &ignored)) {
      std::fprintf(stderr, "llama-quantize failed: %s\n", cmd.c_str());
      return 1;
    }
  }
  json tensor_types = json::object();  // how many tensors of each type the file holds
  {
    std::unique_ptr<formats::GgufFile> f;
    if (Status s = formats::GgufFile::Open(gguf, &f); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    for (const formats::GgufTensorInfo& t : f->tensors())
      tensor_types[formats::GgmlTypeName(t.type)] =
          tensor_types.value(formats::GgmlTypeName(t.type), 0) + 1;
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<llm::LlamaModel> m;
  llm::LlamaLoadOptions load_options{"cpu", threads};
  if (kv == "f16") load_options.kv_cache = llm::LlamaLoadOptions::KvCache::kF16;
  if (Status s = llm::LlamaModel::Load(gguf, load_options, &m); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  json agreement = nullptr;
  if (!llama_server.empty()) {
    json detail;
    const double a = Agreement(*m, llama_server, kv, gguf, threads, agreement_tokens, &detail);
    if (a < 0) {
      std::fprintf(stderr, "agreement: llama-server failed\n");
      return 1;
    }
    std::fprintf(stderr, "teacher-forced top-1 agreement: %.4f over %d positions\n", a,
                 agreement_tokens);
    agreement = {{"top1_agreement", a}, {"detail", detail}};
  }

  // One measurement pair per test and round: {name, epara, llama.cpp}.
  struct Test {
    std::string name;
    std::function<double()> epara, peer;
    std::vector<double> e = {}, p = {}, ratio = {};
  };
  std::vector<Test> tests;
  for (int len : prompts)
    tests.push_back(
        {"prefill_" + std::to_string(len), [&, len] { return EparaPrefill(*m, len, reps); },
         [&, len] { return LlamaBench(llama_bench, gguf, threads, len, 0, reps, kv); }});
  tests.push_back(
      {"decode_b1", [&] { return EparaDecode(*m, decode_tokens, reps); },
       [&] { return LlamaBench(llama_bench, gguf, threads, 0, decode_tokens, reps, kv); }});
  json per_round = json::array();
  for (int r = 0; r < rounds; ++r) {
    json row = json::object();
    for (Test& t : tests) {
      double e = 0, p = 0;
      if (r % 2 == 0) {
        e = t.epara();
        p = t.peer();
      } else {
        p = t.peer();
        e = t.epara();
      }
      if (e <= 0 || p <= 0) return 1;
      t.e.push_back(e);
      t.p.push_back(p);
      t.ratio.push_back(e / p);
      row[t.name] = {{"epara_tokens_per_s", e}, {"llama_cpp_tokens_per_s", p}, {"ratio", e / p}};
      std::fprintf(stderr, "round %d %s: epara %.0f llama.cpp %.0f tokens/s (%.2f)\n", r,
                   t.name.c_str(), e, p, e / p);
    }
    per_round.push_back(row);
  }
  json summary = json::object();
  for (const Test& t : tests)
    summary[t.name] = {{"epara_tokens_per_s", Median(t.e)},
                       {"llama_cpp_tokens_per_s", Median(t.p)},
                       {"ratio_median", Median(t.ratio)}};
  json result = {{"benchmark", "peer_bench"},
                 {"weights", weights},
                 {"gguf_written_by",
                  by_llama ? "llama-quantize (from epara's F32 export)" : "epara's exporter"},
                 {"tensor_types", tensor_types},
                 {"agreement", agreement},
                 {"model", shape},
                 {"llama_cpp",
                  "llama-bench from node-llama-cpp@3.21.1's bundle (commit 80fb11a), "
                  "its defaults otherwise (flash attention auto); both sides use --kv"},
                 {"threads", threads},
                 {"kv_cache", kv},
                 {"rounds", rounds},
                 {"reps", reps},
                 {"decode_tokens", decode_tokens},
                 {"epara_weight_bytes", m->weight_bytes()},
                 {"per_round", per_round},
                 {"summary", summary}};
  std::error_code ec;
  if (!keep_gguf.empty()) fs::copy_file(gguf, keep_gguf, fs::copy_options::overwrite_existing, ec);
  fs::remove_all(tmp, ec);
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
