// QGS address forms: the ones libvirt's quoteGenerationService can express
// come back as the socket path; vsock, relative paths and unknown schemes
// are refused naming the flag or key and the accepted forms.
#include "tdxctl/host/qgs_address.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

TEST_CASE("qgs address: an absolute path or unix:PATH is the socket path") {
  CHECK(host::parse_qgs_address("/var/run/tdx-qgs/qgs.socket", "--qgs-socket") ==
        "/var/run/tdx-qgs/qgs.socket");
  CHECK(host::parse_qgs_address("unix:/run/kubevirt/qgs.sock", "--qgs-socket") ==
        "/run/kubevirt/qgs.sock");
}

TEST_CASE("qgs address: vsock, relative and unknown forms are refused with the accepted forms") {
  for (const char* text : {"vsock:2:4050", "qgs.sock", "unix:qgs.sock", "tcp:127.0.0.1:4050", ""}) {
    auto r = host::parse_qgs_address(text, "--qgs-socket");
    INFO(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "qgs.address");
    CHECK(r.error().category == core::Category::invalid_input);
    CHECK_THAT(r.error().message, Catch::StartsWith(std::string("--qgs-socket '") + text + "'"));
    CHECK_THAT(r.error().message, Catch::Contains(host::qgs_address_forms));
  }
  CHECK_THAT(host::parse_qgs_address("vsock:2:4050", "td.qgs_socket").error().message,
             Catch::Contains("a QGS on vsock cannot be given to a TD through libvirt"));
  CHECK_THAT(host::parse_qgs_address("qgs.sock", "x").error().message,
             Catch::Contains("not an absolute path"));
}
