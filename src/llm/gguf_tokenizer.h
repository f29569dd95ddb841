// The tokenizer and chat template stored in a GGUF file (llama.cpp's tokenizer.ggml.* keys):
//   tokenizer.ggml.model "llama"  SentencePiece-style BPE: tokens with scores and token types
//                                  (normal, unknown, control, user-defined, unused, byte), run by
//                                  llm/sentencepiece.h (byte fallback when byte tokens exist;
//                                  tokenizer.ggml.add_space_prefix, default true);
//                        "gpt2"   byte-level BPE: tokens, merges, token types (control and
//                                  user-defined tokens are matched whole in prompts), run by
//                                  llm/bpe_tokenizer.h with the pre-tokenizer that
//                                  tokenizer.ggml.pre names ("default"/"gpt2": GPT-2's pattern;
//                                  "llama-bpe"/"llama3": Llama-3's);
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id, tokenizer.ggml.add_bos_token;
//   tokenizer.chat_template (Jinja, recognized by family as for Hugging Face folders).
// Errors are InvalidArgument naming the file and the key.
#pragma once

#include <memory>

#include "core/status.h"
#include "formats/gguf.h"
#include "llm/chat_template.h"
#include "llm/tokenizer.h"

namespace epara::llm {

Status LoadGgufTokenizer(const formats::GgufFile& file, std::unique_ptr<Tokenizer>* out);

// The file's chat template: kEpara when it has none; `*recognized` false when it has one that
// matched no family. BOS/EOS texts are the tokens' strings.
Status LoadGgufChatTemplate(const formats::GgufFile& file, ChatTemplate* out, bool* recognized);

}  // namespace epara::llm
