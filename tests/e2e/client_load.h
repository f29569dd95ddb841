// Clients for the e2e tests that change a cluster under load: a request sent until it is answered
// (bounded), and closed-loop clients that count every answer and every failure.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace epara::testing {

// Sends one request on `c`.
using SendFn = std::function<httplib::Result(httplib::Client& c)>;
// "" when `r` is a good answer, else what was wrong with it.
using VerdictFn = std::function<std::string(const httplib::Result& r)>;

// "" for a 200, else its status and body (or the transport error).
inline std::string Answered200(const httplib::Result& r) {
  if (!r) return "no response: " + httplib::to_string(r.error());
  return r->status == 200 ? "" : std::to_string(r->status) + " " + r->body;
}

// Sends to 127.0.0.1:`port` until `check` accepts an answer, for at most `within` (a node that
// routes a model only once it holds a peer's record and digest). Returns the last verdict.
inline std::string SendUntilAnswered(int port, const SendFn& send, const VerdictFn& check,
                                     std::chrono::seconds within = std::chrono::seconds(30)) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  std::string why = "not tried";
  for (auto until = std::chrono::steady_clock::now() + within;
       !why.empty() && std::chrono::steady_clock::now() < until;) {
    why = check(send(c));
    if (!why.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // bounded
  }
  return why;
}

// One closed-loop client per entry of `via` (node id, port), each sending until Stop(). Counts the
// good answers per serving node (the X-Epara-Node header, else the node asked) and keeps every
// failure, labelled with the phase set when it happened.
class ClientLoad {
 public:
  ClientLoad(const std::vector<std::pair<std::string, int>>& via, SendFn send, VerdictFn check,
             int read_timeout_s = 60)
      : send_(std::move(send)), check_(std::move(check)) {
    for (const auto& [id, port] : via)
      threads_.emplace_back([this, id = id, port = port, read_timeout_s] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(read_timeout_s, 0);
        while (!stop_) {
          httplib::Result r = send_(c);
          const std::string why = check_(r);
          std::lock_guard<std::mutex> lock(mu_);
          if (why.empty()) {
            ok_++;
            const std::string by = r->get_header_value("X-Epara-Node");
            served_by_[by.empty() ? id : by]++;
          } else {
            failures_.push_back(phase_ + " via " + id + ": " + why);
          }
        }
      });
  }
  ~ClientLoad() { Stop(); }
  ClientLoad(const ClientLoad&) = delete;
  ClientLoad& operator=(const ClientLoad&) = delete;

  // Labels the failures from now on.
  void SetPhase(const std::string& phase) {
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = phase;
  }
  int ok() const { return ok_.load(); }
  int ServedBy(const std::string& node) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = served_by_.find(node);
    return it == served_by_.end() ? 0 : it->second;
  }
  // Until `more` good answers beyond `since` (node empty: any node; else served by `node`),
  // polling the counters for at most `within`. Whether they came.
  bool AwaitMore(const std::string& node, int since, int more, std::chrono::seconds within) const {
    for (auto until = std::chrono::steady_clock::now() + within;;) {
      if ((node.empty() ? ok() : ServedBy(node)) >= since + more) return true;
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a counter, bounded
    }
  }
  // Stops every client after its request in flight ends. Idempotent.
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }
  // After Stop().
  const std::vector<std::string>& failures() const { return failures_; }
  // "" when none failed, else how many and the first and last.
  std::string FailureSummary() const {
    if (failures_.empty()) return "";
    return std::to_string(failures_.size()) + " failed, first: " + failures_.front() +
           "\nlast: " + failures_.back();
  }

 private:
  SendFn send_;
  VerdictFn check_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  mutable std::mutex mu_;
  std::string phase_ = "start";
  std::map<std::string, int> served_by_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;  // last: started once the rest is built
};

}  // namespace epara::testing
