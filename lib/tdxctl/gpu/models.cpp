// Device-ID table for the data-centre parts a TDX host passes through. IDs
// come from NVIDIA's own lists (gpu-admin-tools devid_names, the open kernel
// module's nvswitch tables); a part not listed is still managed, only named
// generically, so a new SKU never silently drops out of `gpu list`.
#include "tdxctl/gpu/models.hpp"

#include <fmt/format.h>

#include <array>

namespace tdx::gpu {

namespace {
struct Model {
  uint16_t device;
  const char* name;
};

constexpr std::array gpu_models{
    Model{0x2330, "H100 SXM5 80GB"}, Model{0x2339, "H100 SXM5 94GB"},
    Model{0x2331, "H100 PCIe 80GB"}, Model{0x2321, "H100 NVL"},
    Model{0x2335, "H200 SXM 141GB"}, Model{0x233b, "H200 NVL"},
    Model{0x2324, "H800 SXM5"},      Model{0x2322, "H800 PCIe"},
    Model{0x233a, "H800 NVL"},       Model{0x2901, "B200"},
};

// NVSwitch management endpoints, from the open kernel module's tables: LS10
// (0x22a0-0x22a7) is the third generation on HGX H100/H200 boards (0x22a3
// there), LR10 the second (HGX A100). The fourth generation (NVLink 5, HGX
// B200) is not listed: its switch trays are managed out of band, and no
// device ID for a host-visible endpoint is published; any other NVIDIA class
// 0x0680 function is still listed, as "NVSwitch (unknown generation)".
constexpr uint16_t nvswitch_gen3_first = 0x22a0, nvswitch_gen3_last = 0x22a7;
constexpr uint16_t nvswitch_gen2_first = 0x1af0, nvswitch_gen2_last = 0x1aff;
} // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
  case Kind::gpu: return "gpu";
  case Kind::nvswitch: return "nvswitch";
  case Kind::other: return "other";
  }
  return "other";
}

Kind classify(uint16_t vendor, uint32_t class_code) {
  if (vendor != nvidia_vendor) return Kind::other;
  auto prefix = class_code >> 8;
  if (prefix == 0x0300 || prefix == 0x0302) return Kind::gpu;
  if (prefix == 0x0680) return Kind::nvswitch;
  return Kind::other;
}

static const char* lookup(Kind kind, uint16_t device) {
  if (kind == Kind::gpu) {
    for (const auto& m : gpu_models)
      if (m.device == device) return m.name;
  } else if (kind == Kind::nvswitch) {
    if (device >= nvswitch_gen3_first && device <= nvswitch_gen3_last) return "NVSwitch gen3";
    if (device >= nvswitch_gen2_first && device <= nvswitch_gen2_last) return "NVSwitch gen2";
  }
  return nullptr;
}

bool known_model(Kind kind, uint16_t device) { return lookup(kind, device) != nullptr; }

std::string model_name(Kind kind, uint16_t device) {
  if (const char* name = lookup(kind, device)) return name;
  if (kind == Kind::nvswitch) return fmt::format("NVSwitch (unknown generation) 0x{:04x}", device);
  return fmt::format("NVIDIA GPU 0x{:04x}", device);
}

} // namespace tdx::gpu
