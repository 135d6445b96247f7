// The predicted events and RTMRs of a direct kernel boot. Expected values
// were derived independently (Python, hashlib): RTMR1 replays the kernel's
// Authenticode digest, "Calling EFI Application from Boot Option", the
// 4-byte zero separator and the two ExitBootServices actions; RTMR2 the
// UTF-16 LoadOptions "initrd=initrd <cmdline>\0" and the initrd.
#include "unit/measure/builders.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/measure/direct_boot.hpp"
#include "tdxctl/measure/event_types.hpp"
#include "tdxctl/measure/report.hpp"

#include <catch2/catch.hpp>

using namespace tdx;

namespace {

const std::string kCmdline = "root=/dev/mapper/root ro console=ttyS0";

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct Inputs {
  std::string firmware = test::synthetic_tdvf();
  std::string kernel = test::synthetic_pe();
  std::string initrd = repeat("initrd-bytes", 100);
  measure::DirectBootInputs in;
  Inputs() {
    in.firmware = core::as_bytes(firmware);
    in.firmware_name = "fw.fd";
    in.kernel = core::as_bytes(kernel);
    in.kernel_name = "vmlinuz";
    in.initrd = core::as_bytes(initrd);
    in.initrd_name = "initrd.img";
    in.cmdline = kCmdline;
    in.memory_bytes = 2ull << 30;
  }
};

} // namespace

TEST_CASE("LoadOptions are built as X86QemuLoadImageLib builds them", "[measure]") {
  auto o = measure::qemu_load_options("a b", true);
  std::string expect("i\0n\0i\0t\0r\0d\0=\0i\0n\0i\0t\0r\0d\0 \0a\0 \0b\0\0\0", 36);
  CHECK(std::string(o.begin(), o.end()) == expect);
  o = measure::qemu_load_options("a", false);
  CHECK(std::string(o.begin(), o.end()) == std::string("a\0\0\0", 4));
  CHECK(measure::qemu_load_options("", false).empty());
  o = measure::qemu_load_options("", true); // the prefix alone
  CHECK(o.size() == 2 * 14 + 2);
  o = measure::qemu_load_options("\xe9", false); // bytes widen, not UTF-8 decoding
  CHECK(std::string(o.begin(), o.end()) == std::string("\xe9\0\0\0", 4));
}

TEST_CASE("direct boot: every event kind, in log order, replayed", "[measure]") {
  Inputs t;
  auto p = core::value_or_throw(measure::predict_direct_boot(t.in));
  CHECK(measure::digest_hex(p.mrtd) ==
        "b62a9296c6a8b548cf5b7fee1ab0f3e58e9f028e3c96e587e602ec3b6eeed5c8"
        "5571b6b255850ee9d4007de6d4436217");
  REQUIRE(p.stub_measures_to_cc);
  REQUIRE(p.events.size() == 7);
  using E = std::tuple<int, uint32_t, std::string>;
  std::vector<E> got;
  for (const auto& e : p.events) got.emplace_back(e.rtmr, e.event_type, e.name);
  std::vector<E> want{
      {1, measure::EV_EFI_BOOT_SERVICES_APPLICATION, "kernel (PE/COFF Authenticode)"},
      {1, measure::EV_EFI_ACTION, "Calling EFI Application from Boot Option"},
      {1, measure::EV_SEPARATOR, "separator"},
      {2, measure::EV_EVENT_TAG, "LOADED_IMAGE::LoadOptions"},
      {2, measure::EV_EVENT_TAG, "Linux initrd"},
      {1, measure::EV_EFI_ACTION, "Exit Boot Services Invocation"},
      {1, measure::EV_EFI_ACTION, "Exit Boot Services Returned with Success"}};
  CHECK(got == want);
  CHECK(measure::digest_hex(p.events[0].digest) ==
        "127c484285b90fd8a80d64adee6c188605dba9187541b758a4800866ae445aec"
        "ac60dbc1d2f9224b00378560b34feea1");
  CHECK(measure::digest_hex(p.events[3].digest) ==
        "2af1e00c66dadaae252d63b7d6a0942c7af8824e59794b79c038ae9f23e05f7f"
        "41c10c6be045aa9f4a1e38d76bc1509e");
  CHECK_FALSE(p.rtmr[0]);
  CHECK_THAT(p.unknown_reason[0], Catch::Contains("RTMR0 is not predicted")); // the synthetic CFV holds no variable store
  CHECK(measure::digest_hex(*p.rtmr[1]) ==
        "b622ca215541873ab68d90d140d10eeca32f9ea8cd82e4235866677bba42ee27"
        "942298d61054de401c03b339f589bf48");
  CHECK(measure::digest_hex(*p.rtmr[2]) ==
        "2bbe377176be4eb2856e846c0fa7bdcce2abd6f352047a6996a6c61e39468ddd"
        "06ab09618012a077c5acdec57f3d4a34");
  CHECK(*p.rtmr[3] == measure::Digest{});
}

TEST_CASE("direct boot without an initrd: no prefix, no initrd event", "[measure]") {
  Inputs t;
  t.in.initrd.reset();
  auto p = core::value_or_throw(measure::predict_direct_boot(t.in));
  CHECK(p.events.size() == 6);
  CHECK(measure::digest_hex(*p.rtmr[2]) ==
        "6da82b3366a54637e52169d7659549a59499b4042731a16c61f092096a8b2d10"
        "146f7dd352ae0d0008f2432c5368f198");
}

TEST_CASE("a kernel stub without CC measurement leaves RTMR2 zero", "[measure]") {
  Inputs t;
  t.kernel[0x300] ^= 1; // break the CC measurement protocol GUID
  t.in.kernel = core::as_bytes(t.kernel);
  auto p = core::value_or_throw(measure::predict_direct_boot(t.in));
  CHECK_FALSE(p.stub_measures_to_cc);
  CHECK(*p.rtmr[2] == measure::Digest{});
  for (const auto& e : p.events) CHECK(e.rtmr == 1);
}

TEST_CASE("inputs QEMU would not pass are refused", "[measure]") {
  Inputs t;
  std::string empty;
  t.in.initrd = core::as_bytes(empty);
  auto r = measure::predict_direct_boot(t.in);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "measure.initrd");
  Inputs u;
  u.in.cmdline = std::string("a\0b", 3);
  auto r2 = measure::predict_direct_boot(u.in);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().code == "measure.cmdline");
}

TEST_CASE("the measure document round-trips into reference values", "[measure]") {
  Inputs t;
  auto p = core::value_or_throw(measure::predict_direct_boot(t.in));
  auto doc = measure::prediction_to_json(p);
  CHECK(doc["rtmr"][0] == "unknown");
  CHECK(doc["unknown"].contains("rtmr0"));
  CHECK(doc["events"].size() == 7);
  CHECK(doc["events"][0]["event_type"] == "EV_EFI_BOOT_SERVICES_APPLICATION");
  auto rv = core::value_or_throw(measure::parse_measure_json(doc.dump(), "m.json"));
  CHECK(rv.mrtd == p.mrtd);
  CHECK_FALSE(rv.rtmr[0]);
  CHECK(rv.rtmr[1] == p.rtmr[1]);
  doc["rtmr"][1] = "abcd";
  auto bad = measure::parse_measure_json(doc.dump(), "m.json");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("rtmr[1]") && Catch::Contains("96 hex"));
  CHECK_FALSE(measure::parse_measure_json("[1]", "m.json"));
}
