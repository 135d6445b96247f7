#pragma once
// TCG event types (TCG PC Client Platform Firmware Profile, "Event Types";
// EV_EVENT_TAG per the TCG PC Client spec as the Linux EFI stub uses it).

#include <cstdint>
#include <string>

namespace tdx::measure {

inline constexpr uint32_t EV_NO_ACTION = 0x00000003;
inline constexpr uint32_t EV_SEPARATOR = 0x00000004;
inline constexpr uint32_t EV_EVENT_TAG = 0x00000006;
inline constexpr uint32_t EV_PLATFORM_CONFIG_FLAGS = 0x0000000A;
inline constexpr uint32_t EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001;
inline constexpr uint32_t EV_EFI_VARIABLE_BOOT = 0x80000002;
inline constexpr uint32_t EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003;
inline constexpr uint32_t EV_EFI_ACTION = 0x80000007;
inline constexpr uint32_t EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000000A;
inline constexpr uint32_t EV_EFI_HANDOFF_TABLES2 = 0x8000000B;

// "EV_EFI_ACTION", or "0x12345678" for a type the spec does not name.
std::string event_type_name(uint32_t type);

} // namespace tdx::measure
