#include "models/demo_unet_onnx.h"

#include "formats/onnx_writer.h"

namespace epara::models {
namespace {

namespace onnx = formats::onnx;
using onnx::Attribute;

class UNetGraph {
 public:
  explicit UNetGraph(const std::map<std::string, NamedWeights>& w) : w_(w) {}

  Status Weight(const std::string& name) {
    auto it = w_.find(name);
    if (it == w_.end()) return InvalidArgument("demo UNet weights lack '" + name + "'");
    g.initializers.push_back(onnx::FloatTensor(name, it->second.shape, it->second.values.data()));
    return Status::Ok();
  }
  std::string Conv(const std::string& x, const std::string& w, const std::string& b, int k) {
    const std::string y = Fresh();
    const int64_t pad = k / 2;
    g.nodes.push_back(
        {"Conv",
         {x, w, b},
         {y},
         {Attribute::Ints("kernel_shape", {k, k}), Attribute::Ints("pads", {pad, pad, pad, pad})}});
    return y;
  }
  std::string Op(const std::string& op, std::vector<std::string> in,
                 std::vector<Attribute> attrs = {}) {
    const std::string y = Fresh();
    g.nodes.push_back({op, std::move(in), {y}, std::move(attrs)});
    return y;
  }
  Status Block(const std::string& x, const std::string& p, std::string* out) {
    for (const char* s : {"_w1", "_b1", "_w2", "_b2"}) EPARA_RETURN_IF_ERROR(Weight(p + s));
    const std::string a = Op("Relu", {Conv(x, p + "_w1", p + "_b1", 3)});
    *out = Op("Relu", {Conv(a, p + "_w2", p + "_b2", 3)});
    return Status::Ok();
  }
  std::string Pool(const std::string& x) {
    return Op("MaxPool", {x},
              {Attribute::Ints("kernel_shape", {2, 2}), Attribute::Ints("strides", {2, 2})});
  }
  Status UpCat(const std::string& x, const std::string& p, const std::string& skip,
               std::string* out) {
    EPARA_RETURN_IF_ERROR(Weight(p + "_w"));
    EPARA_RETURN_IF_ERROR(Weight(p + "_b"));
    const std::string up =
        Op("ConvTranspose", {x, p + "_w", p + "_b"},
           {Attribute::Ints("kernel_shape", {2, 2}), Attribute::Ints("strides", {2, 2})});
    *out = Op("Concat", {up, skip}, {Attribute::Int("axis", 1)});
    return Status::Ok();
  }

  onnx::Graph g;

 private:
  std::string Fresh() {
    std::string name = "t";  // appended: GCC 12's -Wrestrict misfires on "t" + std::to_string()
    name += std::to_string(next_++);
    return name;
  }
  const std::map<std::string, NamedWeights>& w_;
  int next_ = 0;
};

}  // namespace

Status WriteDemoUNetOnnx(const std::string& path,
                         const std::map<std::string, NamedWeights>& weights, int size,
                         int classes) {
  UNetGraph u(weights);
  u.g.name = "EparaDemoUNet";
  std::string e0, e1, e2, e3, m, c3, d3, c2, d2, c1, d1, c0, d0;
  EPARA_RETURN_IF_ERROR(u.Block("image", "e0", &e0));
  EPARA_RETURN_IF_ERROR(u.Block(u.Pool(e0), "e1", &e1));
  EPARA_RETURN_IF_ERROR(u.Block(u.Pool(e1), "e2", &e2));
  EPARA_RETURN_IF_ERROR(u.Block(u.Pool(e2), "e3", &e3));
  EPARA_RETURN_IF_ERROR(u.Block(u.Pool(e3), "m", &m));
  EPARA_RETURN_IF_ERROR(u.UpCat(m, "u3", e3, &c3));
  EPARA_RETURN_IF_ERROR(u.Block(c3, "d3", &d3));
  EPARA_RETURN_IF_ERROR(u.UpCat(d3, "u2", e2, &c2));
  EPARA_RETURN_IF_ERROR(u.Block(c2, "d2", &d2));
  EPARA_RETURN_IF_ERROR(u.UpCat(d2, "u1", e1, &c1));
  EPARA_RETURN_IF_ERROR(u.Block(c1, "d1", &d1));
  EPARA_RETURN_IF_ERROR(u.UpCat(d1, "u0", e0, &c0));
  EPARA_RETURN_IF_ERROR(u.Block(c0, "d0", &d0));
  EPARA_RETURN_IF_ERROR(u.Weight("head_w"));
  EPARA_RETURN_IF_ERROR(u.Weight("head_b"));
  u.g.nodes.push_back({"Conv", {d0, "head_w", "head_b"}, {"logits"}, {}});
  u.g.inputs.push_back({"image", onnx::ElemType::kFloat, {-1, 3, size, size}, {"batch"}});
  u.g.outputs.push_back({"logits", onnx::ElemType::kFloat, {-1, classes, size, size}, {"batch"}});
  return onnx::WriteModel(u.g, path);
}

}  // namespace epara::models
