#pragma once

namespace epara {
inline constexpr const char* kEparaVersion = "0.1.0";
}  // namespace epara
