// An etcd member's address, "host:port", and lists of them: parsed once where they are read
// (node.yaml, --store flags), used by EtcdStore to pick a member. Pure, no I/O.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace epara::cluster {

struct EtcdEndpoint {
  std::string host;  // a name, an IPv4 address, or a bracketed IPv6 address ("[::1]")
  int port = 0;      // 1..65535
  std::string ToString() const { return host + ":" + std::to_string(port); }
  bool operator==(const EtcdEndpoint&) const = default;
};

// "host:port"; InvalidArgument "<field> must be host:port ..., got '<text>'" otherwise.
Status ParseEtcdEndpoint(const std::string& text, const std::string& field, EtcdEndpoint* out);

// "host:port[,host:port...]" (no empty members), in order; InvalidArgument naming `text`.
Status ParseEtcdEndpointList(const std::string& text, std::vector<EtcdEndpoint>* out);

}  // namespace epara::cluster
