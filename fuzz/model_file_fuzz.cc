// libFuzzer harness (issue 27): GGUF and safetensors headers, what `epara serve` reads from a
// user's model folder. Both readers open a file (memory-mapped), so each input is written to a
// file under /dev/shm (or the temp directory) and opened as both formats; on success the metadata
// accessors run as the loaders call them.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/safetensors.h"

namespace {

std::string Path() {
  static const std::string p =
      (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm")
                                           : std::filesystem::temp_directory_path().string()) +
      "/epara_model_file_fuzz_" + std::to_string(getpid());
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = Path();
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  std::unique_ptr<epara::formats::GgufFile> gguf;
  if (epara::formats::GgufFile::Open(path, &gguf).ok()) {
    std::string s;
    uint64_t u = 0;
    double d = 0;
    std::vector<std::string> strings;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    (void)gguf->GetString("general.architecture", &s);
    (void)gguf->GetUint("llama.block_count", &u);
    (void)gguf->GetFloat("llama.rope.freq_base", &d);
    (void)gguf->GetStringArray("tokenizer.ggml.tokens", &strings);
    (void)gguf->GetFloatArray("tokenizer.ggml.scores", &floats);
    (void)gguf->GetIntArray("tokenizer.ggml.token_type", &ints);
  }
  std::unique_ptr<epara::formats::SafetensorsFile> st;
  (void)epara::formats::SafetensorsFile::Open(path, &st);
  return 0;
}
