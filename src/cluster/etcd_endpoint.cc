#include "cluster/etcd_endpoint.h"

#include <cstdlib>

namespace epara::cluster {

Status ParseEtcdEndpoint(const std::string& text, const std::string& field, EtcdEndpoint* out) {
  const size_t colon = text.rfind(':');
  char* end = nullptr;
  const long port =
      colon == std::string::npos ? 0 : std::strtol(text.c_str() + colon + 1, &end, 10);
  if (colon == 0 || colon == std::string::npos || colon + 1 == text.size() || *end != '\0' ||
      port <= 0 || port > 65535)
    return InvalidArgument(field + " must be host:port (port 1-65535), got '" + text + "'");
  out->host = text.substr(0, colon);
  out->port = static_cast<int>(port);
  return Status::Ok();
}

Status ParseEtcdEndpointList(const std::string& text, std::vector<EtcdEndpoint>* out) {
  std::vector<EtcdEndpoint> all;
  for (size_t at = 0; at <= text.size();) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    EtcdEndpoint e;
    if (!ParseEtcdEndpoint(text.substr(at, comma - at), "an etcd endpoint", &e).ok())
      return InvalidArgument("etcd endpoints must be host:port[,host:port...], got '" + text + "'");
    all.push_back(std::move(e));
    at = comma + 1;
  }
  *out = std::move(all);
  return Status::Ok();
}

}  // namespace epara::cluster
