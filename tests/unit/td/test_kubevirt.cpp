// The KubeVirt naming rules: Kubernetes object names, and the resource names
// NVIDIA's kubevirt-gpu-device-plugin derives from pci.ids.
#include "tdxctl/td/kubevirt.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {
const char* k_pci_ids = "# comment\n"
                        "1002  Advanced Micro Devices\n"
                        "\t2330  Not NVIDIA\n"
                        "10de  NVIDIA Corporation\n"
                        "\t1af1  GA100 [A100 NVSwitch]\n"
                        "\t\t10de 1234  a subsystem line\n"
                        "\t22a3  GH100 [H100 NVSwitch]\n"
                        "\t2330  GH100[H100 SXM5 80GB]\n"
                        "\t2331  GH100 [H100 PCIe]\n"
                        "\t2335  GH100 [H200 SXM 141GB]\n"
                        "\t25b6  GA107GL [A2 / A16]\n"
                        "10df  Emulex Corporation\n"
                        "\t9999  Not NVIDIA either\n";
}

TEST_CASE("nvidia_resource_name follows the device plugin: upper case, '/', '.' and spaces as '_', the rest dropped") {
  CHECK(td::nvidia_resource_name(k_pci_ids, 0x2330) == "nvidia.com/GH100H100_SXM5_80GB");
  CHECK(td::nvidia_resource_name(k_pci_ids, 0x2331) == "nvidia.com/GH100_H100_PCIE");
  CHECK(td::nvidia_resource_name(k_pci_ids, 0x2335) == "nvidia.com/GH100_H200_SXM_141GB");
  CHECK(td::nvidia_resource_name(k_pci_ids, 0x22a3) == "nvidia.com/GH100_H100_NVSWITCH");
  CHECK(td::nvidia_resource_name(k_pci_ids, 0x25b6) == "nvidia.com/GA107GL_A2___A16");
  // Not under NVIDIA's vendor line, or no pci.ids at all: the device ID.
  CHECK(td::nvidia_resource_name(k_pci_ids, 0x9999) == "nvidia.com/9999");
  CHECK(td::nvidia_resource_name("", 0x2330) == "nvidia.com/2330");
}

TEST_CASE("valid_kubernetes_name is a DNS-1123 label") {
  CHECK(td::valid_kubernetes_name("td"));
  CHECK(td::valid_kubernetes_name("td-0-debug"));
  CHECK(td::valid_kubernetes_name(std::string(63, 'a')));
  CHECK_FALSE(td::valid_kubernetes_name(std::string(64, 'a')));
  CHECK_FALSE(td::valid_kubernetes_name(""));
  CHECK_FALSE(td::valid_kubernetes_name("My_TD"));
  CHECK_FALSE(td::valid_kubernetes_name("td.example"));
  CHECK_FALSE(td::valid_kubernetes_name("-td"));
  CHECK_FALSE(td::valid_kubernetes_name("td-"));
}
