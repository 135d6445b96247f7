#pragma once
// The kernel as TDVF receives it from QEMU.
//
// QEMU >= 10.0 also publishes the untouched -kernel file as fw_cfg
// "etc/boot/kernel", and TDVF's QemuKernelLoaderFsDxe prefers those named
// blobs over the legacy setup/kernel items; QEMU >= 10.2 moreover leaves the
// legacy setup unpatched for every confidential guest. So with current QEMU
// the firmware hashes the original file.
//
// Older QEMU (TDX downstream trees before 10.0) serves only the legacy
// items, where x86_load_linux (hw/i386/x86-common.c) has patched the boot
// protocol header: type_of_loader, CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr,
// vid_mode for vga=, and ramdisk_image/ramdisk_size for an initrd (the
// TDVF Design Guide's "UEFI kernel image hash calculation" describes that
// case). qemu_patched_kernel reproduces it for `image measure --legacy-qemu`.

#include "tdxctl/core/error.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tdx::measure {

struct LegacySetupInputs {
  uint64_t memory_bytes = 0;            // -m, for where QEMU places the initrd (q35)
  std::string cmdline;                  // -append
  std::optional<uint64_t> initrd_size;  // -initrd
};

core::Result<std::vector<uint8_t>> qemu_patched_kernel(std::span<const uint8_t> kernel,
                                                       const LegacySetupInputs& in,
                                                       std::string_view name);

} // namespace tdx::measure
