// `epara models demo DIR`: writes the deterministic, untrained demo models into a repository.
#include <spdlog/spdlog.h>

#include <iostream>

#include <fstream>

#include "cli/commands.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "llm/gguf_export.h"
#include "models/demo_llm.h"
#include "models/demo_segmentation.h"
#include "models/demo_tensor.h"
#include "models/isnet_model.h"

namespace epara::cli {

void RegisterModelsCommand(CLI::App& app, int* exit_code) {
  CLI::App* models = app.add_subcommand("models", "Manage model repositories");
  models->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto seg = std::make_shared<models::DemoSegmentationOptions>();
  CLI::App* demo =
      models->add_subcommand("demo", "Write the demo models (untrained, deterministic) into DIR");
  demo->add_option("dir", *dir, "Model repository folder to create or update")->required();
  demo->add_option("--seg-size", seg->size, "Segmentation input size (multiple of 16)")
      ->capture_default_str();
  demo->add_option("--seg-channels", seg->base_channels, "UNet base channels")
      ->capture_default_str();
  demo->add_option("--seed", seg->seed, "Weight seed")->capture_default_str();
  auto hd = std::make_shared<bool>(false);
  demo->add_flag("--hd", *hd,
                 "Also write seg-hd: the same UNet on 1024x1024 camera frames (issue 24's "
                 "latency-sensitive multi-device service; no batching, SLO 900 ms)");
  demo->callback([dir, seg, hd, exit_code] {
#ifdef EPARA_HAVE_ORT
    seg->onnx_name = "seg-demo-onnx";  // the same UNet for ONNX Runtime (this build has it)
#endif
    if (Status s = models::WriteDemoSegmentationModel(*dir, *seg); !s.ok()) {
      spdlog::error("{}", s.ToString());
      *exit_code = 1;
      return;
    }
    if (*hd) {
      models::DemoSegmentationOptions h = *seg;
      h.name = "seg-hd";
      h.size = 1024;
      h.max_batch_size = 1;  // a 1024^2 batch gains nothing on a CPU and adds its whole latency
      h.slo_latency_ms = 900;
      h.onnx_name.clear();
      if (Status s = models::WriteDemoSegmentationModel(*dir, h); !s.ok()) {
        spdlog::error("{}", s.ToString());
        *exit_code = 1;
        return;
      }
      std::cout << "wrote " << *dir << "/seg-hd (the same UNet at 1024x1024, untrained)\n";
    }
    if (Status s = models::WriteDemoTensorModel(*dir, {}); !s.ok()) {
      spdlog::error("{}", s.ToString());
      *exit_code = 1;
      return;
    }
    if (Status s = models::WriteDemoLlm(*dir, {}); !s.ok()) {
      spdlog::error("{}", s.ToString());
      *exit_code = 1;
      return;
    }
    std::string png;
    const std::string sample = *dir + "/" + seg->name + "/sample.png";
    if (Status s = EncodePng(SyntheticScene(640, 480), &png);
        !s.ok() || !(std::ofstream(sample) << png)) {
      spdlog::error("cannot write {}", sample);
      *exit_code = 1;
      return;
    }
    std::cout << "wrote " << *dir << "/" << seg->name << " (UNet, "
              << models::DemoSegmentationParameterCount(*seg) / 1e6
              << " M parameters, untrained)\n";
    if (!seg->onnx_name.empty())
      std::cout << "wrote " << *dir << "/" << seg->onnx_name
                << " (the same UNet as ONNX, for the onnxruntime backend)\n";
    std::cout << "wrote " << sample << " (a synthetic 640x480 scene to segment)\n"
              << "wrote " << *dir << "/tensor-demo (sum = a + b + c; KServe v2 example)\n"
              << "wrote " << *dir << "/llama-demo (Llama architecture, "
              << models::DemoLlmParameterCount({}) / 1e6
              << " M parameters, untrained, byte tokenizer)\n";
  });

  auto isnet_dir = std::make_shared<std::string>();
  auto cache = std::make_shared<std::string>(models::AssetCacheDir());
  CLI::App* isnet = models->add_subcommand(
      "isnet",
      "Add ISNet background removal (trained, ONNX; fetched by scripts/fetch_assets.sh) "
      "to DIR as isnet (int8) and isnet-fp16");
  isnet->add_option("dir", *isnet_dir, "Model repository folder to create or update")->required();
  isnet->add_option("--cache", *cache, "Asset cache holding isnet/")->capture_default_str();
  isnet->callback([isnet_dir, cache, exit_code] {
    for (const models::IsnetVariant* v :
         {&models::IsnetInt8(), &models::IsnetFp16(), &models::IsnetFp32()}) {
      if (Status s = models::WriteIsnetModel(*isnet_dir, *cache, *v); !s.ok()) {
        spdlog::error("{}", s.ToString());
        *exit_code = 1;
        return;
      }
      std::cout << "wrote " << *isnet_dir << "/" << v->name << " (ISNet, " << v->note
                << ", trained)\n";
    }
  });

  // `epara models gguf HF_DIR OUT.gguf`: the same weights for llama.cpp (bench/peer/).
  auto hf_dir = std::make_shared<std::string>();
  auto gguf_out = std::make_shared<std::string>();
  auto gguf_type = std::make_shared<std::string>("f32");
  CLI::App* gguf = models->add_subcommand(
      "gguf", "Write a Hugging Face Llama folder as a GGUF file llama.cpp loads (same weights)");
  gguf->add_option("hf_dir", *hf_dir, "Folder with config.json and safetensors")->required();
  gguf->add_option("out", *gguf_out, "GGUF file to write")->required();
  gguf->add_option("--type", *gguf_type,
                   "Weight matrices: f32, q8_0, q4_0, q4_k, q6_k or q4_k_m (Q4_K with Q6_K for "
                   "attn_v, ffn_down and output)")
      ->check(CLI::IsMember({"f32", "q8_0", "q4_0", "q4_k", "q6_k", "q4_k_m"}))
      ->capture_default_str();
  gguf->callback([hf_dir, gguf_out, gguf_type, exit_code] {
    llm::GgufExportOptions o;
    o.matrices = *gguf_type == "q8_0"   ? formats::GgmlType::kQ8_0
                 : *gguf_type == "q4_0" ? formats::GgmlType::kQ4_0
                 : *gguf_type == "q4_k" ? formats::GgmlType::kQ4_K
                 : *gguf_type == "q6_k" ? formats::GgmlType::kQ6_K
                                        : formats::GgmlType::kF32;
    o.k_mix = *gguf_type == "q4_k_m";
    if (Status s = llm::ExportLlamaGguf(*hf_dir, *gguf_out, o); !s.ok()) {
      spdlog::error("{}", s.ToString());
      *exit_code = 1;
      return;
    }
    std::cout << "wrote " << *gguf_out << " (" << *gguf_type << ")\n";
  });
}

}  // namespace epara::cli
