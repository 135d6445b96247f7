#include "tdxctl/measure/rtmr0.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/acpi_loader.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/td_hob.hpp"
#include "tdxctl/measure/var_store.hpp"

#include <fmt/format.h>

namespace tdx::measure {
namespace {

constexpr uint8_t kSecureBootEnable = 1;

struct FwCfgItem {
  const char* name;
  size_t size; // 0: any non-zero size
};
// OvmfPkg/Library/QemuFwCfgLib/QemuFwCfgCacheInit.c, the measured entries in
// list order; BootMenu (a fixed item, not a file) sits between the first two.
constexpr FwCfgItem kExtraPciRoots{"etc/extra-pci-roots", 8};
constexpr FwCfgItem kMeasuredAfterBootMenu[] = {
    {"etc/boot-menu-wait", 2}, {"etc/reserved-memory-end", 8}, {"opt/ovmf/X-PciMmio64Mb", 0}, {"bootorder", 0}};

void add(Rtmr0Prediction& p, uint32_t type, std::string name, std::span<const uint8_t> hashed) {
  p.events.push_back({0, type, std::move(name), sha384(hashed)});
}

void add_fw_cfg(Rtmr0Prediction& p, const PlatformInputs& in, const FwCfgItem& item) {
  auto it = in.fw_cfg.find(item.name);
  if (it == in.fw_cfg.end() || it->second.empty()) return;
  if (item.size != 0 && it->second.size() != item.size) return;
  add(p, EV_PLATFORM_CONFIG_FLAGS, fmt::format("QEMU FW CFG {}", item.name), it->second);
}

void add_variable(Rtmr0Prediction& p, const EfiGuid& vendor, std::string_view name,
                  std::span<const uint8_t> data) {
  add(p, EV_EFI_VARIABLE_DRIVER_CONFIG, std::string(name), uefi_variable_data(vendor, name, data));
}

} // namespace

std::vector<uint8_t> uefi_variable_data(std::span<const uint8_t, 16> vendor, std::string_view name,
                                        std::span<const uint8_t> data) {
  std::vector<uint8_t> out(vendor.begin(), vendor.end());
  auto put64 = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put64(name.size());
  put64(data.size());
  for (char c : name) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

core::Result<Rtmr0Prediction> predict_rtmr0(std::span<const uint8_t> firmware, const TdvfMetadata& metadata,
                                            std::string_view firmware_name, uint64_t memory_bytes,
                                            const PlatformInputs& in) {
  Rtmr0Prediction p;
  auto hob = td_hob_bytes(metadata, memory_bytes);
  if (!hob) return std::unexpected(hob.error());
  add(p, EV_EFI_HANDOFF_TABLES2, "TD HOB", *hob);
  const TdvfSection* cfv = nullptr;
  for (const auto& s : metadata.sections)
    if (s.type == static_cast<uint32_t>(SectionType::cfv)) cfv = &s;
  if (!cfv || size_t{cfv->data_offset} + cfv->raw_data_size > firmware.size())
    return core::fail(core::Category::invalid_input, "measure.tdvf_metadata",
                      fmt::format("{}: no CFV section backed by the image", firmware_name));
  add(p, EV_EFI_PLATFORM_FIRMWARE_BLOB2, "CFV", firmware.subspan(cfv->data_offset, cfv->raw_data_size));

  add_fw_cfg(p, in, kExtraPciRoots);
  std::array<uint8_t, 2> boot_menu{static_cast<uint8_t>(in.boot_menu), static_cast<uint8_t>(in.boot_menu >> 8)};
  add(p, EV_PLATFORM_CONFIG_FLAGS, "QEMU FW CFG BootMenu", boot_menu);
  for (const auto& item : kMeasuredAfterBootMenu) add_fw_cfg(p, in, item);

  auto store = parse_cfv_variable_store(firmware, metadata, firmware_name);
  if (!store) return std::unexpected(store.error());
  const auto* pk = store->find("PK", kEfiGlobalVariableGuid);
  // AuthVariableLib creates SecureBoot at every boot; without it there is none.
  bool auth = pk != nullptr || store->find("SecureBootEnable", kSecureBootEnableDisableGuid) != nullptr;
  if (!auth) {
    auto detected = firmware_has_auth_variables(firmware);
    if (!detected)
      return Rtmr0Prediction{std::move(p.events),
                             "RTMR0 is not predicted: no LZMA-compressed DXE volume found in the firmware, so "
                             "whether it creates the SecureBoot variable (SECURE_BOOT_ENABLE builds) is unknown"};
    auth = *detected;
  }
  bool secure_boot = false;
  if (auth) {
    uint8_t enable = pk ? kSecureBootEnable : 0;
    if (const auto* e = store->find("SecureBootEnable", kSecureBootEnableDisableGuid); e && pk)
      enable = e->data.empty() ? 0 : e->data[0];
    secure_boot = pk && enable == kSecureBootEnable;
    std::array<uint8_t, 1> value{static_cast<uint8_t>(secure_boot ? 1 : 0)};
    add_variable(p, kEfiGlobalVariableGuid, "SecureBoot", value);
  } else {
    add_variable(p, kEfiGlobalVariableGuid, "SecureBoot", {});
  }
  for (auto [name, guid] : {std::pair{"PK", &kEfiGlobalVariableGuid}, std::pair{"KEK", &kEfiGlobalVariableGuid},
                            std::pair{"db", &kEfiImageSecurityDatabaseGuid},
                            std::pair{"dbx", &kEfiImageSecurityDatabaseGuid}}) {
    const auto* v = store->find(name, *guid);
    add_variable(p, *guid, name, v ? std::span<const uint8_t>(v->data) : std::span<const uint8_t>());
  }
  if (const auto* dbt = store->find("dbt", kEfiImageSecurityDatabaseGuid))
    add_variable(p, kEfiImageSecurityDatabaseGuid, "dbt", dbt->data);
  std::array<uint8_t, 4> separator{};
  add(p, EV_SEPARATOR, "separator", separator);
  if (secure_boot)
    return Rtmr0Prediction{std::move(p.events),
                           "RTMR0 is not predicted: secure boot is on in this firmware's variable store (PK "
                           "enrolled), so the kernel's signature authority is measured too, which tdxctl does "
                           "not reproduce; use a TDVF without enrolled keys for direct kernel boot"};

  auto tables = in.fw_cfg.find("etc/acpi/tables");
  if (tables == in.fw_cfg.end())
    return Rtmr0Prediction{std::move(p.events),
                           "RTMR0 is not predicted: it covers QEMU's ACPI tables; pass --acpi-tables or "
                           "--platform with what `tdxctl-guest measure platform` captured in a TD of this shape"};
  auto loader = in.fw_cfg.find("etc/table-loader");
  auto rsdp = in.fw_cfg.find("etc/acpi/rsdp");
  if (loader != in.fw_cfg.end() && rsdp != in.fw_cfg.end()) {
    add(p, EV_PLATFORM_CONFIG_FLAGS, "etc/table-loader", loader->second);
    add(p, EV_PLATFORM_CONFIG_FLAGS, "etc/acpi/rsdp", rsdp->second);
  } else {
    auto rebuilt = rebuild_acpi_files(tables->second, "etc/acpi/tables");
    if (!rebuilt) return std::unexpected(rebuilt.error());
    add(p, EV_PLATFORM_CONFIG_FLAGS, "etc/table-loader (rebuilt)", rebuilt->table_loader);
    add(p, EV_PLATFORM_CONFIG_FLAGS, "etc/acpi/rsdp (rebuilt)", rebuilt->rsdp);
  }
  add(p, EV_PLATFORM_CONFIG_FLAGS, "etc/acpi/tables", tables->second);

  if (!in.boot_order)
    return Rtmr0Prediction{std::move(p.events),
                           "RTMR0 is not predicted: it covers the boot variables (BootOrder, Boot####) the "
                           "firmware creates for the TD's devices; pass --platform with what "
                           "`tdxctl-guest measure platform` captured in a TD of this shape"};
  if (in.boot_order->size() % 2 != 0)
    return core::fail(core::Category::invalid_input, "measure.boot_order",
                      fmt::format("BootOrder has {} bytes; expected an array of 16-bit entries",
                                  in.boot_order->size()));
  add(p, EV_EFI_VARIABLE_BOOT, "BootOrder", *in.boot_order);
  for (size_t i = 0; i + 1 < in.boot_order->size(); i += 2) {
    uint16_t n = static_cast<uint16_t>((*in.boot_order)[i] | ((*in.boot_order)[i + 1] << 8));
    auto it = in.boot_options.find(n);
    if (it == in.boot_options.end()) continue; // edk2 skips a listed option that does not exist
    add(p, EV_EFI_VARIABLE_BOOT, fmt::format("Boot{:04X}", n), it->second);
  }
  return p;
}

} // namespace tdx::measure
