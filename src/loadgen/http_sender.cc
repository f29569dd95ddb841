#include "loadgen/http_sender.h"

#include <httplib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "image/image_codec.h"
#include "image/synthetic_scene.h"

namespace epara::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

HttpSender::HttpSender(const WorkloadSpec& spec, std::map<std::string, int> ports)
    : spec_(spec), ports_(std::move(ports)) {}

Status HttpSender::Create(const WorkloadSpec& spec, std::map<std::string, int> ports,
                          std::unique_ptr<HttpSender>* out) {
  std::unique_ptr<HttpSender> s(new HttpSender(spec, std::move(ports)));
  for (const ServiceLoad& l : spec.services) {
    for (const auto& [node, _] : l.ingress)
      if (!s->ports_.count(node))
        return NotFound("workload " + spec.name + ": ingress node '" + node +
                        "' is not in the cluster");
    for (const auto& [side, _] : l.images) {
      if (s->png_.count(side)) continue;
      EPARA_RETURN_IF_ERROR(EncodePng(SyntheticScene(side, side, 1), &s->png_[side]));
    }
  }
  for (const auto& [_, by_node] : spec.shift_ingress)
    for (const auto& [node, _w] : by_node)
      if (!s->ports_.count(node))
        return NotFound("workload " + spec.name + ": shift ingress node '" + node +
                        "' is not in the cluster");
  *out = std::move(s);
  return Status::Ok();
}

SendOutcome HttpSender::Send(const ScheduledRequest& r) const {
  SendOutcome o;
  const ServiceLoad& l = spec_.services[r.service];
  httplib::Client client("127.0.0.1", ports_.at(r.ingress));
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(static_cast<time_t>(timeout_s), 0);
  const auto t0 = Clock::now();
  if (!l.llm) {
    auto res =
        client.Post("/v1/segment/" + l.model + "?format=json", png_.at(r.image_size), "image/png");
    o.e2e_ms = MsSince(t0);
    o.status = res ? res->status : 0;
    o.ok = res && res->status == 200;
    o.node =
        res && res->has_header("X-Epara-Node") ? res->get_header_value("X-Epara-Node") : r.ingress;
    return o;
  }
  nlohmann::json body = {{"model", l.model},
                         {"prompt", std::string(static_cast<size_t>(r.prompt_tokens), 'a')},
                         {"max_tokens", r.output_tokens},
                         {"ignore_eos", true},
                         {"temperature", 0},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  // Our deadline: the node drops the request unrun if it is still queued when we give up.
  if (timeout_s > 0)
    req.set_header("X-Epara-Deadline-Ms", std::to_string(static_cast<int64_t>(timeout_s * 1e3)));
  std::string pending;
  int chunks = 0, tokens = 0;
  bool error = false;
  double first_ms = 0, last_ms = 0;
  bool gave_up = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (MsSince(t0) > timeout_s * 1e3) {  // the whole stream, not one read, is bounded
      gave_up = true;
      return false;  // closes the connection: the server cancels the sequence
    }
    pending.append(data, n);
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
      const std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0 || event == "data: [DONE]") continue;
      const nlohmann::json j = nlohmann::json::parse(event.substr(6), nullptr, false);
      if (!j.is_object() || j.contains("error")) {
        error = true;
        continue;
      }
      if (j.contains("usage") && j["usage"].is_object())
        tokens = j["usage"].value("completion_tokens", 0);
      if (!j.contains("choices") || j["choices"].empty()) continue;
      const auto& text = j["choices"][0]["text"];
      if (!text.is_string() || text.get<std::string>().empty()) continue;
      last_ms = MsSince(t0);
      if (chunks++ == 0) first_ms = last_ms;
    }
    return true;
  };
  auto res = client.send(req);
  o.e2e_ms = MsSince(t0);
  o.node =
      res && res->has_header("X-Epara-Node") ? res->get_header_value("X-Epara-Node") : r.ingress;
  o.status = res ? res->status : 0;
  o.ttft_ms = first_ms;
  // TPOT over the tokens the usage reports (a byte tokenizer may hold a partial character back,
  // so chunks can be fewer than tokens).
  o.tpot_ms = tokens > 1 ? (last_ms - first_ms) / (tokens - 1) : 0;
  o.ok = res && !gave_up && res->status == 200 && !error && chunks > 0 && tokens == r.output_tokens;
  return o;
}

}  // namespace epara::loadgen
