// Each check of key release on a real quote (tests/data/quotes, Intel-signed,
// verified at its collateral's time). No real quote can be bound to a fresh
// nonce without TDX, so the accepting path goes through two seams that
// supply the binding values the recorded quote carries: the nonce source
// hands out REPORTDATA[0:32] as the nonce, and the request states
// REPORTDATA[32:64] as the client SPKI digest (the HTTPS layer, tested in
// test_server.cpp, computes it from the TLS connection). Everything else -
// nonce bookkeeping, the binding comparison, DCAP verification and the
// policy - runs unchanged on the real quote; a byte-flipped copy and a
// policy that pins another MRTD show that verification and policy decide.
#include "tdxctl/keys/key_service.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>

using namespace tdx;
namespace fs = std::filesystem;

namespace {

constexpr size_t k_report_data = 48 + 520; // v4 header, then REPORTDATA in the TD report
constexpr size_t k_mr_td = 48 + 136;
constexpr time_t k_verify_at = 1750809600;  // tdx-v4-b0c06f-uptodate's collateral time
const char* k_mrtd = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const char* k_rtmr0 = "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0";

std::string pinned_policy(const std::string& mrtd = k_mrtd) {
  return "accept_tcb: [UpToDate]\nmr_td: [" + mrtd + "]\nrtmr0: " + k_rtmr0 + "\nmr_config_id: " +
         std::string(96, '0') + "\n";
}

struct Service {
  core::TempDir tmp;
  core::Bytes quote = test::sample_quote();
  std::array<uint8_t, 32> nonce{}, spki{};
  keys::ServiceOptions options;
  std::unique_ptr<keys::KeyService> service;

  explicit Service(const std::string& policy = pinned_policy(), bool insecure_sample = false,
                   fs::path collateral = test::testdata() / "quotes/tdx-v4-b0c06f-uptodate") {
    std::memcpy(nonce.data(), quote.data() + k_report_data, 32);
    std::memcpy(spki.data(), quote.data() + k_report_data + 32, 32);
    options.store = tmp / "keys";
    options.collateral = std::move(collateral);
    options.insecure_accept_sample = insecure_sample;
    options.nonce_source = [this] { return nonce; };
    options.verify_clock = [] { return k_verify_at; };
    register_vm("tdx-node-7", policy);
    service = std::make_unique<keys::KeyService>(options);
  }
  void register_vm(const std::string& name, const std::string& policy) {
    auto r = std::make_shared<keys::Registration>();
    r->name = name;
    r->key = core::Secret(std::string("a0b1c2d3e4f5"));
    r->containerd_key = core::Secret(std::string("c0ffee0123"));
    r->policy_yaml = policy;
    r->policy_file = "policy.yaml";
    core::NullProgress progress;
    keys::KeyStore(options.store).plan_add(r, core::Force::no).apply(core::DryRun::no, progress);
  }
  std::string issue() {
    auto d = service->nonce("192.0.2.7");
    REQUIRE(d.status == 200);
    return nlohmann::json::parse(d.body->reveal())["nonce"];
  }
  keys::Decision attest(const core::Bytes& q, const std::string& vm = "tdx-node-7") {
    unlock::AttestBody body{vm, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", q, {}};
    return service->attest({"192.0.2.7", issue(), unlock::attest_body_json(body), spki});
  }
};

} // namespace

TEST_CASE("a verified, bound quote that passes the VM's policy releases its keys", "[keys]") {
  Service s;
  auto d = s.attest(s.quote);
  INFO(d.reason);
  CHECK(d.status == 200);
  CHECK(d.decision == "release");
  CHECK(d.tcb_status == "UpToDate");
  auto body = nlohmann::json::parse(d.body->reveal());
  CHECK(body["key"] == "a0b1c2d3e4f5");
  CHECK(body["containerd_key"] == "c0ffee0123");
  auto log = s.service->log_line(d, "192.0.2.7", "POST").dump();
  CHECK(log.find("a0b1c2d3e4f5") == std::string::npos);
  CHECK(log.find("c0ffee0123") == std::string::npos);
  CHECK_THAT(log, Catch::Contains("\"insecure_sample\":false") && Catch::Contains("\"evidence\":\"quote\""));
}

TEST_CASE("the collateral is chosen from a cache by the quote's FMSPC", "[keys]") {
  core::TempDir cache;
  fs::create_directory_symlink(test::testdata() / "quotes/tdx-v4-b0c06f-uptodate", cache / "B0C06F000000");
  Service s(pinned_policy(), false, cache.path());
  CHECK(s.attest(s.quote).status == 200);
  fs::remove(cache / "B0C06F000000");
  auto d = s.attest(s.quote);
  CHECK(d.status == 403);
  CHECK(d.check == "verification");
  CHECK_THAT(d.reason, Catch::Contains("no collateral for FMSPC B0C06F000000"));
}

TEST_CASE("a real quote not bound to this nonce and client certificate gets 403 (binding)", "[keys]") {
  Service s;
  s.spki.fill(0x5a); // another client certificate than the one the quote names
  auto d = s.attest(s.quote);
  CHECK(d.status == 403);
  CHECK(d.check == "binding");
  CHECK(nlohmann::json::parse(d.body->reveal()) == nlohmann::json{{"error", "forbidden"}}); // no reason
  s.spki = {};
  std::memcpy(s.spki.data(), s.quote.data() + k_report_data + 32, 32);
  s.nonce.fill(0x11); // a fresh nonce the recorded quote cannot carry
  d = s.attest(s.quote);
  CHECK(d.check == "binding");
}

TEST_CASE("a byte-flipped real quote gets 403 (verification)", "[keys]") {
  Service s;
  auto flipped = s.quote;
  flipped[k_mr_td] ^= 0x01; // signed TD report byte; REPORTDATA (the binding) untouched
  auto policy_for_flipped = pinned_policy(core::to_hex(std::span(flipped.data() + k_mr_td, 48)));
  Service t(policy_for_flipped);
  auto d = t.attest(flipped);
  CHECK(d.status == 403);
  CHECK(d.check == "verification");
  CHECK_THAT(d.reason, Catch::Contains("SIGNATURE") || Catch::Contains("signature"));
}

TEST_CASE("a verified, bound quote that fails the VM's policy gets 403 (policy)", "[keys]") {
  Service s(pinned_policy(std::string(96, 'a')));
  auto d = s.attest(s.quote);
  CHECK(d.status == 403);
  CHECK(d.check == "policy");
  CHECK(d.tcb_status == "UpToDate"); // it did verify
  CHECK_THAT(d.reason, Catch::Contains("mr_td"));
  Service debug("accept_tcb: [OutOfDate]\n");
  CHECK(debug.attest(debug.quote).check == "policy"); // UpToDate is not accepted there
}

TEST_CASE("nonces are single-use and must have been issued", "[keys]") {
  Service s;
  unlock::AttestBody body{"tdx-node-7", "hotkey", s.quote, {}};
  auto nonce = s.issue();
  auto first = s.service->attest({"c", nonce, unlock::attest_body_json(body), s.spki});
  CHECK(first.status == 200);
  auto replay = s.service->attest({"c", nonce, unlock::attest_body_json(body), s.spki});
  CHECK(replay.status == 403);
  CHECK(replay.check == "nonce");
  auto never = s.service->attest({"c", std::string(64, 'f'), unlock::attest_body_json(body), s.spki});
  CHECK(never.check == "nonce");
}

TEST_CASE("unknown VMs get 404, malformed requests 400, missing client certificates 403", "[keys]") {
  Service s;
  auto d = s.attest(s.quote, "tdx-node-8");
  CHECK(d.status == 404);
  CHECK(d.decision == "unknown_vm");
  CHECK(s.attest(s.quote, "../tdx-node-7").status == 404);
  CHECK(s.service->attest({"c", s.issue(), "{\"vm_name\": 1}", s.spki}).status == 400);
  unlock::AttestBody body{"tdx-node-7", "hotkey", s.quote, {}};
  auto no_cert = s.service->attest({"c", s.issue(), unlock::attest_body_json(body), std::nullopt});
  CHECK(no_cert.status == 403);
  CHECK(no_cert.check == "binding");
}

TEST_CASE("sample evidence: 403 without --insecure-accept-sample, binding-checked with it", "[keys]") {
  std::array<uint8_t, 64> rd{};
  auto sample = [&](Service& s) {
    std::memcpy(rd.data(), s.nonce.data(), 32);
    std::memcpy(rd.data() + 32, s.spki.data(), 32);
    unlock::AttestBody body{"tdx-node-7", "hotkey", std::nullopt, rd};
    return s.service->attest({"c", s.issue(), unlock::attest_body_json(body), s.spki});
  };
  Service strict;
  auto refused = sample(strict);
  CHECK(refused.status == 403);
  CHECK(refused.check == "evidence");
  CHECK(refused.evidence == "sample");

  // Sample evidence carries no measurement: a policy that pins some refuses it.
  Service pinned(pinned_policy(), true);
  auto refused_by_policy = sample(pinned);
  CHECK(refused_by_policy.status == 403);
  CHECK(refused_by_policy.check == "policy");
  CHECK_THAT(refused_by_policy.reason, Catch::Contains("pins mr_td, rtmr0, mr_config_id"));

  Service lax("accept_tcb: [UpToDate]\nallow_debug: false\n", true);
  auto released = sample(lax);
  CHECK(released.status == 200);
  CHECK_THAT(released.reason, Catch::Contains("INSECURE") && Catch::Contains("skipped"));
  CHECK(lax.service->log_line(released, "c", "POST")["insecure_sample"] == true);
  lax.spki.fill(0x01);
  auto unbound = [&] {
    unlock::AttestBody body{"tdx-node-7", "hotkey", std::nullopt, rd}; // rd names the old SPKI
    return lax.service->attest({"c", lax.issue(), unlock::attest_body_json(body), lax.spki});
  }();
  CHECK(unbound.status == 403);
  CHECK(unbound.check == "binding");
}

TEST_CASE("a client over its rate gets 429 on both endpoints", "[keys]") {
  Service s;
  keys::ServiceOptions o = s.options;
  o.rate_per_second = 0.001;
  o.burst = 2;
  keys::KeyService limited(o);
  CHECK(limited.nonce("198.51.100.1").status == 200);
  CHECK(limited.nonce("198.51.100.1").status == 200);
  auto d = limited.nonce("198.51.100.1");
  CHECK(d.status == 429);
  CHECK(d.check == "rate_limit");
  CHECK(limited.attest({"198.51.100.1", "", "{}", std::nullopt}).status == 429);
  CHECK(limited.nonce("198.51.100.2").status == 200);
}
