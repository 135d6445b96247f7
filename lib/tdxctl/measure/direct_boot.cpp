#include "tdxctl/measure/direct_boot.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/authenticode.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/mrtd.hpp"
#include "tdxctl/measure/setup_header.hpp"
#include "tdxctl/measure/tdvf_metadata.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

// edk2 MdePkg/Include/Uefi/UefiSpec.h / TcgService strings, logged without NUL.
constexpr std::string_view kCallingEfiApplication = "Calling EFI Application from Boot Option";
constexpr std::string_view kExitBootServicesInvocation = "Exit Boot Services Invocation";
constexpr std::string_view kExitBootServicesSucceeded = "Exit Boot Services Returned with Success";

Digest digest_of(std::string_view text) { return sha384(core::as_bytes(text)); }

bool contains(std::span<const uint8_t> hay, std::span<const uint8_t> needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

} // namespace

std::string register_name(int rtmr) { return fmt::format("rtmr{}", rtmr); }

std::vector<uint8_t> qemu_load_options(const std::string& cmdline, bool has_initrd) {
  std::string ascii = (has_initrd ? std::string("initrd=initrd ") : std::string()) + cmdline;
  std::vector<uint8_t> out;
  if (ascii.empty()) return out;
  out.reserve(2 * ascii.size() + 2);
  for (char c : ascii) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  out.push_back(0);
  out.push_back(0);
  return out;
}

bool stub_supports_cc_measurement(std::span<const uint8_t> kernel) {
  // 96751a3d-72f4-41a6-a794-ed5d0e67ae6b; compilers materialise a GUID local
  // as two 64-bit immediates, so look for each half.
  static constexpr uint8_t lo[] = {0x3d, 0x1a, 0x75, 0x96, 0xf4, 0x72, 0xa6, 0x41};
  static constexpr uint8_t hi[] = {0xa7, 0x94, 0xed, 0x5d, 0x0e, 0x67, 0xae, 0x6b};
  return contains(kernel, lo) && contains(kernel, hi);
}

core::Result<Prediction> predict_direct_boot(const DirectBootInputs& in) {
  Prediction p;
  auto metadata = parse_tdvf_metadata(in.firmware, in.firmware_name);
  if (!metadata) return std::unexpected(metadata.error());
  auto mrtd = compute_mrtd(in.firmware, *metadata, in.firmware_name);
  if (!mrtd) return std::unexpected(mrtd.error());
  p.mrtd = *mrtd;

  if (in.cmdline.find('\0') != std::string::npos)
    return core::fail(core::Category::invalid_input, "measure.cmdline",
                      "the kernel command line contains a NUL byte; QEMU would cut it there");
  if (in.initrd && in.initrd->empty())
    return core::fail(core::Category::invalid_input, "measure.initrd",
                      fmt::format("{}: the initrd is empty; QEMU then passes no initrd, so drop "
                                  "--initrd", in.initrd_name));

  std::vector<uint8_t> patched;
  std::span<const uint8_t> kernel = in.kernel;
  if (in.legacy_qemu) {
    LegacySetupInputs legacy{in.memory_bytes, in.cmdline, std::nullopt};
    if (in.initrd) legacy.initrd_size = in.initrd->size();
    auto k = qemu_patched_kernel(in.kernel, legacy, in.kernel_name);
    if (!k) return std::unexpected(k.error());
    patched = std::move(*k);
    kernel = patched;
  }
  auto kernel_digest = authenticode_sha384(kernel, in.kernel_name);
  if (!kernel_digest) return std::unexpected(kernel_digest.error());
  std::array<uint8_t, 4> separator{};

  // RTMR1, in log order.
  p.events.push_back({1, EV_EFI_BOOT_SERVICES_APPLICATION, "kernel (PE/COFF Authenticode)",
                      *kernel_digest});
  p.events.push_back({1, EV_EFI_ACTION, std::string(kCallingEfiApplication),
                      digest_of(kCallingEfiApplication)});
  p.events.push_back({1, EV_SEPARATOR, "separator", sha384(separator)});

  // RTMR2: the EFI stub runs between ReadyToBoot and ExitBootServices.
  p.stub_measures_to_cc = stub_supports_cc_measurement(in.kernel);
  if (p.stub_measures_to_cc) {
    auto options = qemu_load_options(in.cmdline, in.initrd.has_value());
    if (!options.empty())
      p.events.push_back({2, EV_EVENT_TAG, "LOADED_IMAGE::LoadOptions", sha384(options)});
    if (in.initrd) p.events.push_back({2, EV_EVENT_TAG, "Linux initrd", sha384(*in.initrd)});
  }

  p.events.push_back({1, EV_EFI_ACTION, std::string(kExitBootServicesInvocation),
                      digest_of(kExitBootServicesInvocation)});
  p.events.push_back({1, EV_EFI_ACTION, std::string(kExitBootServicesSucceeded),
                      digest_of(kExitBootServicesSucceeded)});

  // RTMR0's events come first in the log; they are listed only when the
  // whole register is predicted, so the list always replays to the values.
  // An input RTMR0 alone needs (the CFV's variable store, the ACPI blob) that
  // is malformed leaves the other registers predictable: it is the reason.
  auto rtmr0 = predict_rtmr0(in.firmware, *metadata, in.firmware_name, in.memory_bytes, in.platform);
  if (!rtmr0) {
    p.unknown_reason[0] = "RTMR0 is not predicted: " + rtmr0.error().message;
  } else if (rtmr0->unknown) {
    p.unknown_reason[0] = *rtmr0->unknown;
  } else {
    p.events.insert(p.events.begin(), rtmr0->events.begin(), rtmr0->events.end());
    p.rtmr[0] = Digest{};
  }
  for (int r = 1; r < 4; ++r) p.rtmr[r] = Digest{};
  for (const auto& e : p.events) extend(*p.rtmr[e.rtmr], e.digest);
  return p;
}

} // namespace tdx::measure
