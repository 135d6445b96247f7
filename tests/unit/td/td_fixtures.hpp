#pragma once
// Shared by the td/ tests: a sysfs tree with NVIDIA GPUs and NVSwitches on
// vfio-pci (what `tdxctl gpu bind` leaves behind), and small real files for
// the image (with its manifest and direct-boot files), volumes (with their
// sha384sum manifest) and firmware.
#include "support/fixtures.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/td/spec.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <string>

namespace tdx::test {

inline std::string gpu_bdf(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000:%02x:00.0", 0x18 + i * 0x10);
  return buf;
}
inline std::string switch_bdf(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000:%02x:00.0", 0xc0 + i);
  return buf;
}

// Devices under sys/devices/pci0000:00/<bdf>, linked from sys/bus/pci/devices.
inline void add_pci(const std::filesystem::path& root, const std::string& bdf, const char* cls,
                    const char* dev, const char* driver) {
  std::string d = "sys/devices/pci0000:00/" + bdf;
  put(root, d + "/vendor", "0x10de\n");
  put(root, d + "/device", std::string(dev) + "\n");
  put(root, d + "/class", std::string(cls) + "\n");
  put(root, std::string("sys/bus/pci/drivers/") + driver + "/bind", "");
  link(root, d + "/driver", std::string("../../../bus/pci/drivers/") + driver);
  link(root, "sys/bus/pci/devices/" + bdf, "../../../devices/pci0000:00/" + bdf);
}

inline void make_gpu_host(const std::filesystem::path& root, int gpus, int switches,
                          const char* driver = "vfio-pci") {
  std::filesystem::create_directories(root / "sys/bus/pci/devices");
  for (int i = 0; i < gpus; ++i) add_pci(root, gpu_bdf(i), "0x030200", "0x2330", driver);
  for (int i = 0; i < switches; ++i) add_pci(root, switch_bdf(i), "0x068000", "0x22a3", driver);
}

inline std::string sha384_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha384(), nullptr);
  return core::to_hex({md, len});
}

// image, config (+ .sha384 manifest), cache, containerd volumes and a
// firmware file in `dir`; returns a spec pointing at them.
inline td::TdSpec make_volumes(const std::filesystem::path& dir) {
  put(dir, "td.qcow2", std::string("QFI\xfb", 4) + std::string(508, '\0'));
  put_boot_files(dir / "td.qcow2");
  std::string config(4096, 'c');
  put(dir, "config.img", config);
  put(dir, "config.img.sha384", sha384_hex(config) + "  config.img\n");
  put(dir, "cache.img", std::string(4096, '\0'));
  put(dir, "containerd.img", std::string(4096, '\0'));
  put(dir, "OVMF.fd", "firmware");
  td::TdSpec spec;
  spec.name = "td-test";
  spec.vcpus = 2;
  spec.memory_gib = 4;
  spec.image = (dir / "td.qcow2").string();
  spec.config_volume = (dir / "config.img").string();
  spec.cache_volume = (dir / "cache.img").string();
  spec.containerd_volume = (dir / "containerd.img").string();
  spec.firmware = (dir / "OVMF.fd").string();
  return spec;
}

} // namespace tdx::test
