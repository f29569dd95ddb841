#include "peer/stage_link_client.h"

#include <grpcpp/grpcpp.h>

#include "core/thread_name.h"
#include "peer/peer.grpc.pb.h"
#include "peer/proto_convert.h"

namespace epara::peer {

struct StageLinkClient::Stream {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Peer::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StageStep, v1::StageReply>> rw;
  std::mutex write_mu;                                                // one writer at a time
  std::map<uint64_t, std::function<void(llm::StageResult)>> pending;  // GUARDED_BY(link mu_)
  bool broken = false;                                                // GUARDED_BY(link mu_)
  std::thread reader;
};

StageLinkClient::StageLinkClient(std::string self, std::string model, std::string stage_name,
                                 std::function<Status(std::string*)> resolve, PeerAuth auth)
    : self_(std::move(self)),
      model_(std::move(model)),
      stage_name_(std::move(stage_name)),
      auth_(std::move(auth)),
      resolve_(std::move(resolve)) {}

StageLinkClient::~StageLinkClient() {
  if (!stream_) return;
  stream_->ctx.TryCancel();  // the reader's Read returns false and it fails what is pending
  if (stream_->reader.joinable()) stream_->reader.join();
}

Status StageLinkClient::Open() {
  if (stream_) {  // broken: its reader has failed everything and is ending
    if (stream_->reader.joinable()) stream_->reader.join();
    stream_.reset();
  }
  auto s = std::make_shared<Stream>();
  EPARA_RETURN_IF_ERROR(resolve_(&s->address));
  grpc::ChannelArguments args;
  SetPeerChannelArguments(&args);  // a stage that vanishes is noticed within ~3 s
  s->channel = grpc::CreateCustomChannel(s->address, ChannelCredentialsFor(auth_, &args), args);
  s->stub = v1::Peer::NewStub(s->channel);
  // Fail fast when the stage is not there (no waiting for it to come up).
  AddCallCredential(auth_, &s->ctx);
  s->rw = s->stub->PipelineStream(&s->ctx);
  s->reader = std::thread([this, s] {
    SetCurrentThreadName("ep-stage-rd");
    ReadLoop(s);
  });
  stream_ = std::move(s);
  return Status::Ok();
}

void StageLinkClient::FailAll(Stream& s, const std::string& why) {
  std::map<uint64_t, std::function<void(llm::StageResult)>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.broken = true;
    pending.swap(s.pending);
  }
  for (auto& [id, done] : pending) {
    llm::StageResult r;
    r.step_id = id;
    r.status = Unavailable(why);
    done(std::move(r));
  }
}

void StageLinkClient::ReadLoop(std::shared_ptr<Stream> s) {
  v1::StageReply reply;
  std::string why;
  while (s->rw->Read(&reply)) {
    llm::StageResult r;
    Status st = FromProto(reply, &r);
    if (!st.ok()) {
      why = "pipeline stage " + stage_name_ + " sent a malformed reply: " + st.message();
      s->ctx.TryCancel();
      break;
    }
    std::function<void(llm::StageResult)> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = s->pending.find(r.step_id);
      if (it != s->pending.end()) {
        done = std::move(it->second);
        s->pending.erase(it);
      }
    }
    if (done) done(std::move(r));
  }
  const grpc::Status end = s->rw->Finish();
  if (why.empty())
    why = "pipeline stage " + stage_name_ + " (" + s->address + ") " +
          (end.ok() ? std::string("closed the connection") : "failed: " + end.error_message());
  FailAll(*s, why);
}

void StageLinkClient::Send(llm::StageStep step, std::function<void(llm::StageResult)> done) {
  bool need_open = !stream_;
  if (!need_open) {
    std::lock_guard<std::mutex> lock(mu_);
    need_open = stream_->broken;
  }
  if (need_open) {
    if (Status st = Open(); !st.ok()) {
      llm::StageResult r;
      r.step_id = step.step_id;
      r.status =
          Unavailable("pipeline stage " + stage_name_ + " cannot be reached: " + st.message());
      done(std::move(r));
      return;
    }
  }
  Stream& s = *stream_;
  v1::StageStep msg;
  ToProto(self_, model_, step, &msg);
  bool broken = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    broken = s.broken;
    if (!broken) s.pending.emplace(step.step_id, std::move(done));
  }
  if (broken) {  // broke since the check above: answer now rather than never
    llm::StageResult r;
    r.step_id = step.step_id;
    r.status = Unavailable("pipeline stage " + stage_name_ + " closed the connection");
    done(std::move(r));
    return;
  }
  std::lock_guard<std::mutex> w(s.write_mu);
  // A failed write means the stream is ending: the reader answers the pending step.
  (void)s.rw->Write(msg);
}

}  // namespace epara::peer
