// Rewrites an ONNX model whose weights and internal tensors are fp16 (as float16 converters emit:
// fp16 initializers and constants, Cast nodes to and from fp16, fp16 value_info) into the same
// graph computed in fp32: every FLOAT16 tensor becomes FLOAT with the same values (exact: an fp16
// value is an fp32 value), Cast-to-FLOAT16 becomes Cast-to-FLOAT, FLOAT16 types become FLOAT.
// Everything else is copied field by field. The heterogeneity report uses it to get an fp32 ISNet
// from the fp16 one the package ships. Torch-free, no libonnx: protobuf read and written by field
// number (protobuf_wire.h, protobuf_writer.h).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace epara::formats::onnx {

// InvalidArgument naming the byte offset on a malformed model.
Status ConvertFp16ModelToFp32(std::string_view model, std::string* out);

}  // namespace epara::formats::onnx
