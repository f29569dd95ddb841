#include "core/sigpipe.h"

#include <csignal>
#include <mutex>

namespace epara {

void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace epara
