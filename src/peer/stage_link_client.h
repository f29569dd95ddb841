// StageLinkClient: the StageLink (llm/pipeline_stage.h) to the next pipeline stage over gRPC
// (Peer.PipelineStream in src/peer/peer.proto). One long-lived stream per link: steps go out as
// they are sent; a reader thread matches the replies to their steps by id.
//
// Failure: when the stream breaks (the stage's process died, its node left, the network failed;
// gRPC keepalive notices a silent peer within a few seconds), every pending step is answered with
// Unavailable naming the stage, and the next Send opens a new stream (the later stages' caches of
// the old one are gone, so sequences that were running fail with a clear error there).
// Send is called from one thread at a time (the engine's, or a stage's stream reader).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "llm/pipeline_stage.h"
#include "peer/peer_auth.h"

namespace epara::peer {

class StageLinkClient final : public llm::StageLink {
 public:
  // `resolve` gives the next stage's "host:port" when a stream is opened (the stage may move or
  // restart); `stage_name` names it in errors; `self` and `model` go with every step; `auth`
  // as PeerClient uses it.
  StageLinkClient(std::string self, std::string model, std::string stage_name,
                  std::function<Status(std::string* address)> resolve, PeerAuth auth = {});
  ~StageLinkClient() override;

  void Send(llm::StageStep step, std::function<void(llm::StageResult)> done) override;

 private:
  struct Stream;
  Status Open();  // REQUIRES: no stream, or a broken one; called from the sending thread
  void ReadLoop(std::shared_ptr<Stream> s);
  void FailAll(Stream& s, const std::string& why);

  const std::string self_, model_, stage_name_;
  const PeerAuth auth_;
  std::function<Status(std::string*)> resolve_;
  std::shared_ptr<Stream> stream_;  // the sending thread's
  std::mutex mu_;                   // guards the streams' pending maps and broken flags
};

}  // namespace epara::peer
