#include "tdxctl/measure/event_log.hpp"

#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/le.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr uint16_t kAlgSha384 = 0x000C;
constexpr size_t kSha1Size = 20;
constexpr char kSpecIdSignature[] = "Spec ID Event03"; // with its NUL: 16 bytes

core::Error truncated(std::string_view name, size_t offset, std::string what) {
  return core::Error{core::Category::invalid_input, "eventlog.truncated",
                     fmt::format("{}: byte offset {}: truncated: {}", name, offset, what),
                     "copy the whole /sys/firmware/acpi/tables/data/CCEL from the TD"};
}
core::Error corrupt(std::string_view name, size_t offset, std::string what) {
  return core::Error{core::Category::invalid_input, "eventlog.corrupt",
                     fmt::format("{}: byte offset {}: {}", name, offset, what),
                     "the event log is damaged; capture it again from the TD"};
}

// The unused tail of the log area: all 0xFF or all zero from here on.
bool is_tail(std::span<const uint8_t> rest) {
  if (rest.empty()) return true;
  uint8_t fill = rest[0];
  if (fill != 0xFF && fill != 0x00) return false;
  return std::all_of(rest.begin(), rest.end(), [fill](uint8_t b) { return b == fill; });
}

std::string printable(std::span<const uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) {
    if (b == 0) break;
    s.push_back(b >= 0x20 && b < 0x7f ? static_cast<char>(b) : '.');
  }
  return s;
}

std::string utf16_name(std::span<const uint8_t> bytes, size_t chars) {
  std::string s;
  for (size_t i = 0; i < chars && 2 * i + 1 < bytes.size(); ++i) {
    uint16_t c = le16(bytes, 2 * i);
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return s;
}

} // namespace

core::Result<EventLog> parse_event_log(std::span<const uint8_t> bytes, std::string_view name) {
  EventLog log;
  // TCG_PCR_EVENT: PCRIndex, EventType, SHA1 digest, EventSize, Event.
  constexpr size_t kHeader = 4 + 4 + kSha1Size + 4;
  if (bytes.size() < kHeader) return std::unexpected(truncated(name, 0, "no TCG_PCR_EVENT header"));
  uint32_t first_type = le32(bytes, 4);
  uint32_t spec_size = le32(bytes, 28);
  if (first_type != EV_NO_ACTION)
    return std::unexpected(corrupt(name, 4, fmt::format("the first event has type {}, expected "
                                                        "EV_NO_ACTION (the Spec ID event)",
                                                        event_type_name(first_type))));
  if (spec_size > bytes.size() - kHeader)
    return std::unexpected(truncated(name, 28, fmt::format("Spec ID event of {} bytes", spec_size)));
  auto spec = bytes.subspan(kHeader, spec_size);
  constexpr size_t kSpecFixed = 16 + 4 + 4 + 4; // signature, class, versions+uintn, count
  if (spec.size() < kSpecFixed ||
      std::memcmp(spec.data(), kSpecIdSignature, sizeof(kSpecIdSignature)) != 0)
    return std::unexpected(corrupt(name, kHeader, "no \"Spec ID Event03\" signature: not a "
                                                  "crypto-agile (TCG2) log"));
  uint32_t nalg = le32(spec, 24);
  if (nalg == 0 || nalg > 32 || spec.size() < kSpecFixed + size_t{nalg} * 4)
    return std::unexpected(corrupt(name, kHeader + 24, fmt::format("{} digest algorithms", nalg)));
  bool has_sha384 = false;
  for (uint32_t i = 0; i < nalg; ++i) {
    uint16_t alg = le16(spec, kSpecFixed + 4 * i);
    uint16_t size = le16(spec, kSpecFixed + 4 * i + 2);
    if (alg == kAlgSha384 && size != 48)
      return std::unexpected(corrupt(name, kHeader + kSpecFixed + 4 * i,
                                     fmt::format("SHA-384 digest size {}", size)));
    has_sha384 |= alg == kAlgSha384;
    log.algorithms.emplace_back(alg, size);
  }
  if (!has_sha384)
    return std::unexpected(corrupt(name, kHeader + 24, "the log carries no SHA-384 digests"));

  size_t at = kHeader + spec_size;
  while (!is_tail(bytes.subspan(at))) {
    size_t start = at;
    auto need = [&](size_t len, const char* what) -> std::optional<core::Error> {
      if (len > bytes.size() - at) return truncated(name, at, what);
      return std::nullopt;
    };
    if (auto e = need(12, "event header")) return std::unexpected(*e);
    LogEvent ev;
    ev.offset = start;
    ev.mr_index = le32(bytes, at);
    ev.event_type = le32(bytes, at + 4);
    uint32_t count = le32(bytes, at + 8);
    at += 12;
    if (count != nalg)
      return std::unexpected(corrupt(name, start + 8, fmt::format("event has {} digests, the "
                                                                  "Spec ID event declares {}",
                                                                  count, nalg)));
    bool got = false;
    for (uint32_t i = 0; i < count; ++i) {
      if (auto e = need(2, "digest algorithm")) return std::unexpected(*e);
      uint16_t alg = le16(bytes, at);
      auto it = std::find_if(log.algorithms.begin(), log.algorithms.end(),
                             [alg](const auto& a) { return a.first == alg; });
      if (it == log.algorithms.end())
        return std::unexpected(corrupt(name, at, fmt::format("digest algorithm {:#06x} not "
                                                             "declared in the Spec ID event", alg)));
      at += 2;
      if (auto e = need(it->second, "digest")) return std::unexpected(*e);
      if (alg == kAlgSha384) {
        std::memcpy(ev.digest.data(), bytes.data() + at, 48);
        got = true;
      }
      at += it->second;
    }
    if (!got) return std::unexpected(corrupt(name, start, "event without a SHA-384 digest"));
    if (auto e = need(4, "event size")) return std::unexpected(*e);
    uint32_t size = le32(bytes, at);
    at += 4;
    if (auto e = need(size, "event data")) return std::unexpected(*e);
    ev.data.assign(bytes.begin() + at, bytes.begin() + at + size);
    at += size;
    if (ev.event_type != EV_NO_ACTION) {
      if (ev.mr_index < 1 || ev.mr_index > 4)
        return std::unexpected(corrupt(name, start, fmt::format("MR index {} is not an RTMR "
                                                                "(1..4)", ev.mr_index)));
      extend(log.rtmr[ev.mr_index - 1], ev.digest);
    }
    log.events.push_back(std::move(ev));
  }
  return log;
}

std::string event_description(const LogEvent& e) {
  std::span<const uint8_t> d = e.data;
  switch (e.event_type) {
  case EV_EVENT_TAG:
    // TCG_PCClientTaggedEvent: taggedEventID, taggedEventDataSize, data.
    if (d.size() >= 8) {
      uint32_t len = le32(d, 4);
      if (len <= d.size() - 8) return printable(d.subspan(8, len));
    }
    break;
  case 0x80000001: case 0x80000002: case 0x800000E0: case 0x8000000C:
    // UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength, VariableDataLength, name.
    if (d.size() >= 32) return utf16_name(d.subspan(32), le64(d, 16));
    break;
  case 0x8000000A: case 0x8000000B:
    // UEFI_PLATFORM_FIRMWARE_BLOB2 / HANDOFF_TABLES2: a length-prefixed description.
    if (!d.empty() && d[0] <= d.size() - 1) return printable(d.subspan(1, d[0]));
    break;
  case EV_EFI_BOOT_SERVICES_APPLICATION: case 0x80000004: case 0x80000005:
    return "PE/COFF image";
  case EV_SEPARATOR:
    return "separator";
  default:
    return printable(d);
  }
  return {};
}

} // namespace tdx::measure
