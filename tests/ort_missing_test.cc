// Built instead of the ONNX Runtime backend tests when CMake did not find ONNX Runtime.
#include <gtest/gtest.h>

TEST(OrtBackendTest, SkippedWithoutOnnxRuntime) {
  GTEST_SKIP() << "ONNX Runtime not found at configure time (scripts/fetch_assets.sh installs it "
                  "into ~/.cache/epara); the onnxruntime backend is not built";
}
