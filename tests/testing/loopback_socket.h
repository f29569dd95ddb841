// Raw loopback TCP connections for tests that send bytes an HTTP library would not (half requests,
// pipelined requests, bytes that are not TLS).
#pragma once

#include <string>

namespace epara::testing {

// A blocking connection to 127.0.0.1:`port` whose receives time out after `recv_timeout_s`, or -1.
int ConnectLoopback(int port, int recv_timeout_s = 10);

// Everything the peer sends on `fd` until it closes (or a receive times out).
std::string ReadUntilClosed(int fd);

}  // namespace epara::testing
