// Base64 (RFC 4648, standard alphabet, '=' padding): etcd's JSON gateway carries keys and values
// as base64 strings, and KServe's JSON may carry BYTES that way.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace epara {

std::string Base64Encode(std::string_view bytes);

// InvalidArgument for a character outside the alphabet, a length that is not a multiple of 4, or
// padding anywhere but the end.
Status Base64Decode(std::string_view text, std::string* out);

}  // namespace epara
