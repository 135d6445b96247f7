#include "tdxctl/measure/setup_header.hpp"

#include "tdxctl/measure/le.hpp"

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr uint32_t kHdrS = 0x53726448;
constexpr uint16_t kXlfCanBeLoadedAbove4G = 1 << 1;
// pc_machine_class_init: "BIOS ACPI tables: 128K. Other BIOS datastructures ... 32K".
constexpr uint64_t kAcpiDataSize = 0x20000 + 0x8000;
constexpr uint32_t kRealAddr = 0x10000;
constexpr uint32_t kCmdlineAddr = 0x20000;

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v));
  put16(b, at + 2, static_cast<uint16_t>(v >> 16));
}

// pc_q35_init: RAM below 4 GiB ends at 2 GiB once -m reaches 0xb0000000,
// else at 0xb0000000 (all of it when smaller).
uint64_t q35_below_4g(uint64_t ram) {
  uint64_t lowmem = ram >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
  return ram >= lowmem ? lowmem : ram;
}

core::Error bad(std::string_view name, std::string what) {
  return core::Error{core::Category::invalid_input, "measure.setup_header",
                     fmt::format("{}: {}", name, what),
                     "pass an x86 bzImage with the Linux boot protocol header"};
}

} // namespace

core::Result<std::vector<uint8_t>> qemu_patched_kernel(std::span<const uint8_t> kernel,
                                                       const LegacySetupInputs& in,
                                                       std::string_view name) {
  if (kernel.size() < 0x260) return std::unexpected(bad(name, "too small for a boot header"));
  if (le32(kernel, 0x202) != kHdrS)
    return std::unexpected(bad(name, "no \"HdrS\" boot protocol signature at 0x202"));
  uint16_t protocol = le16(kernel, 0x206);
  // Every EFI-stub kernel is "high and recent"; QEMU's other branches place
  // the command line relative to its length, for kernels that cannot boot here.
  if (protocol < 0x202 || !(kernel[0x211] & 0x01))
    return std::unexpected(bad(name, fmt::format("boot protocol {:#x} without LOADED_HIGH is too "
                                                 "old for direct boot under TDVF", protocol)));
  std::vector<uint8_t> out(kernel.begin(), kernel.end());

  uint64_t initrd_max;
  if (protocol >= 0x20c && (le16(kernel, 0x236) & kXlfCanBeLoadedAbove4G))
    initrd_max = 0xffffffffull;
  else if (protocol >= 0x203)
    initrd_max = le32(kernel, 0x22c);
  else
    initrd_max = 0x37ffffff;
  uint64_t below_4g = q35_below_4g(in.memory_bytes);
  if (below_4g <= kAcpiDataSize) return std::unexpected(bad(name, "memory size too small"));
  if (initrd_max >= below_4g - kAcpiDataSize) initrd_max = below_4g - kAcpiDataSize - 1;

  put32(out, 0x228, kCmdlineAddr);

  if (auto vga = in.cmdline.find("vga="); vga != std::string::npos) {
    std::string v = in.cmdline.substr(vga + 4);
    uint32_t mode;
    if (v.starts_with("normal")) mode = 0xffff;
    else if (v.starts_with("ext")) mode = 0xfffe;
    else if (v.starts_with("ask")) mode = 0xfffd;
    else {
      size_t used = 0;
      unsigned long parsed = 0;
      try {
        parsed = std::stoul(v, &used, 0);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || (used < v.size() && v[used] != ' ') || parsed > 0xffffffffu)
        return core::fail(core::Category::invalid_input, "measure.cmdline",
                          "invalid 'vga=' kernel parameter (QEMU refuses it too)");
      mode = static_cast<uint32_t>(parsed);
    }
    put16(out, 0x1fa, static_cast<uint16_t>(mode));
  }

  out[0x210] = 0xB0;
  out[0x211] |= 0x80;
  put16(out, 0x224, static_cast<uint16_t>(kCmdlineAddr - kRealAddr - 0x200));

  if (in.initrd_size) {
    if (*in.initrd_size >= initrd_max)
      return core::fail(core::Category::invalid_input, "measure.initrd",
                        fmt::format("initrd of {} bytes does not fit below {:#x}; QEMU refuses it",
                                    *in.initrd_size, initrd_max));
    uint32_t initrd_addr = static_cast<uint32_t>((initrd_max - *in.initrd_size) & ~0xfffull);
    put32(out, 0x218, initrd_addr);
    put32(out, 0x21c, static_cast<uint32_t>(*in.initrd_size));
  }
  return out;
}

} // namespace tdx::measure
