// SIGPIPE, ignored once for the whole process. OpenSSL (and so every TLS socket: the HTTPS server's
// sessions, the etcd client) writes with write(), not send(MSG_NOSIGNAL): a peer that closes its
// connection would end the process with SIGPIPE. Ignored, each such write fails with EPIPE instead,
// which its caller reports. Idempotent and thread-safe.
#pragma once

namespace epara {

void IgnoreSigpipe();

}  // namespace epara
