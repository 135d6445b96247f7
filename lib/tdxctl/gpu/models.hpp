#pragma once
// Which NVIDIA PCI functions tdxctl manages and what they are called: GPUs
// (class 0x0300/0x0302) and NVSwitches (class 0x0680), named from a table of
// the device IDs that matter for TDX passthrough.

#include <cstdint>
#include <string>

namespace tdx::gpu {

inline constexpr uint16_t nvidia_vendor = 0x10de;

enum class Kind { gpu, nvswitch, other };

const char* kind_name(Kind kind);
// GPU for NVIDIA class 0x0300/0x0302, NVSwitch for NVIDIA class 0x0680, else other.
Kind classify(uint16_t vendor, uint32_t class_code);
// "H100 SXM5 80GB", "NVSwitch gen3"; unknown IDs get a generic name with the ID.
std::string model_name(Kind kind, uint16_t device);
// True when the ID is in the table (as opposed to a generic name).
bool known_model(Kind kind, uint16_t device);

} // namespace tdx::gpu
