#include "core/thread_name.h"

#include <pthread.h>

#include <string>

namespace epara {

void SetCurrentThreadName(std::string_view name) {
  const std::string n(name.substr(0, 15));
  (void)pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace epara
