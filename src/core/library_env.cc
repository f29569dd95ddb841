#include "core/library_env.h"

#include <cstdlib>

#include <unistd.h>

namespace epara {

void ApplyLibraryEnvironment(char** argv) {
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") != nullptr) return;  // set by the user, or re-exec'd
  if (setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the libraries as loaded.
}

}  // namespace epara
