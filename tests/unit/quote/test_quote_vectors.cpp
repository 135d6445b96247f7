// The real quotes (tests/data/quotes): every field parses to
// what expected.json records, every set verifies to exactly its expected
// status at its verify time, and each negative case fails at the right step.
#include "support/fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/batch.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/verify.hpp"

#include <catch2/catch.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

using namespace tdx;
using nlohmann::json;

namespace {

std::filesystem::path quotes_dir() { return test::testdata() / "quotes"; }

std::string slurp(const std::filesystem::path& p) { return core::value_or_throw(core::read_file(p)); }

quote::Quote load_quote(const std::filesystem::path& p) {
  auto text = slurp(p);
  return core::value_or_throw(quote::parse_quote(core::as_bytes(text)));
}

quote::Verdict verify_with(const quote::Quote& q, quote::CollateralFiles files, time_t at, bool warm = true,
                           bool cache_decoded = false) {
  quote::VerifyOptions o;
  o.at = at;
  o.warm = warm;
  o.cache_decoded = cache_decoded;
  auto v = core::value_or_throw(quote::Verifier::create(quote::Trust::intel(), std::move(files), o));
  return v->verify(q);
}

const std::vector<std::string> sets = {"tdx-v4-b0c06f-uptodate", "tdx-v4-00806f05-outofdate",
                                       "tdx-v5-90c06f-uptodate", "tdx-v5-90c06f-tcb-not-supported",
                                       "tdx-v4-50806f-debug", "tdx-v4-50806f-tcb-not-supported",
                                       "sgx/sgx-v3-00a067110000"};

} // namespace

TEST_CASE("embedded Intel root is the shared one", "[quote]") {
  auto der = slurp(quotes_dir() / "intel_sgx_root_ca.der");
  auto embedded = quote::intel_root_ca_der_bytes();
  CHECK(std::string(embedded.begin(), embedded.end()) == der);
  CHECK(core::to_hex(quote::sha256(embedded)) ==
        "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
}

TEST_CASE("every shared quote parses to its expected fields", "[quote]") {
  for (const auto& set : sets) {
    INFO(set);
    auto expected = json::parse(slurp(quotes_dir() / set / "expected.json"));
    auto q = load_quote(quotes_dir() / set / "quote.bin");
    auto j = quote::quote_to_json(q);
    CHECK(q.version == expected["quote"]["version"].get<int>());
    CHECK(q.signed_len == expected["quote"]["signed_len"].get<size_t>());
    CHECK(q.sig_data_len == expected["quote"]["sig_data_len"].get<uint32_t>());
    CHECK(core::to_hex(q.attestation_key) == expected["quote"]["attestation_key"].get<std::string>());
    CHECK(core::to_hex(q.qe_auth_data) == expected["quote"]["qe_auth_data"].get<std::string>());
    if (expected["td_report"].is_object()) {
      REQUIRE(q.td);
      for (auto& [key, value] : expected["td_report"].items()) {
        INFO(key);
        CHECK(j["td_report"][key] == value);
      }
      for (auto& [key, value] : expected["td_attributes_decoded"].items()) CHECK(j["td_attributes_decoded"][key] == value);
    }
    CHECK(q.qe_report.isv_svn == expected["qe_report"]["isv_svn"].get<int>());
    CHECK(core::to_hex(q.qe_report.mr_signer) == expected["qe_report"]["mr_signer"].get<std::string>());
    auto chain = core::value_or_throw(quote::load_pem_chain(q.cert_data, "chain"));
    CHECK(chain.size() == 3);
    auto pck = core::value_or_throw(quote::read_pck_info(chain[0].get()));
    CHECK(core::to_hex(pck.fmspc) == core::to_hex(core::value_or_throw(
                                         core::from_hex(expected["pck"]["fmspc"].get<std::string>()))));
  }
}

TEST_CASE("every shared set verifies to its expected status, cold and warm", "[quote]") {
  for (const auto& set : sets) {
    for (int mode : {0, 1, 2}) {
      bool warm = mode == 2;
      INFO(set << " mode " << mode);
      auto expected = json::parse(slurp(quotes_dir() / set / "expected.json"));
      auto files = core::value_or_throw(quote::load_collateral_dir(quotes_dir() / set));
      auto q = load_quote(quotes_dir() / set / "quote.bin");
      auto v = verify_with(q, files, expected["verify_time_unix"].get<time_t>(), warm, mode == 1);
      const auto& e = expected["expected"];
      if (e["result"] == "verified") {
        INFO((v.failure ? v.failure->message : std::string()));
        REQUIRE(v.verified);
        CHECK(v.status == e["tcb_status"].get<std::string>());
        CHECK(v.tcb.advisories == e["advisory_ids"].get<std::vector<std::string>>());
        CHECK(quote::format_time(v.tcb.date) == e["tcb_date"].get<std::string>());
      } else {
        REQUIRE_FALSE(v.verified);
        CHECK(v.status == e["error"].get<std::string>());
        CHECK(v.failure->step == "tcb_evaluation");
      }
    }
  }
}

// The warm path keeps, besides its cache, the chain the last quote used
// (compared byte for byte) and, per thread, a verify context for the PCK key
// it used last: quotes that take turns must each get their own answer.
TEST_CASE("a warm verifier gives quotes that take turns each their own verdict", "[quote]") {
  auto dir = quotes_dir() / "tdx-v4-b0c06f-uptodate";
  auto raw = slurp(dir / "quote.bin");
  // One base64 digit of the leaf certificate's signature, near the end of
  // its PEM block, changed: same length, same PCK key, a chain that fails.
  auto end = raw.find("-----END CERTIFICATE-----");
  REQUIRE(end != std::string::npos);
  std::string tampered = raw;
  char& digit = tampered[end - 12];
  REQUIRE(std::isalnum(static_cast<unsigned char>(digit)));
  digit = digit == 'A' ? 'B' : 'A';
  auto good = core::value_or_throw(quote::parse_quote(core::as_bytes(raw)));
  auto bad = core::value_or_throw(quote::parse_quote(core::as_bytes(tampered)));
  REQUIRE(good.cert_data != bad.cert_data);

  auto expected = json::parse(slurp(dir / "expected.json"));
  quote::VerifyOptions o;
  o.at = expected["verify_time_unix"].get<time_t>();
  o.warm = true;
  auto v = core::value_or_throw(
      quote::Verifier::create(quote::Trust::intel(), core::value_or_throw(quote::load_collateral_dir(dir)), o));
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    auto ok = v->verify(good);
    CHECK(ok.verified);
    CHECK(ok.status == "UpToDate");
    auto failed = v->verify(bad);
    REQUIRE_FALSE(failed.verified);
    REQUIRE(failed.failure);
    CHECK(failed.failure->step == "pck_chain");
  }

  // Another certification data type carrying the same chain bytes (the
  // parser keeps cert_data for types 1-5; only type 5 is a PCK chain) fails
  // on its own, whether it comes before or after the good quote, on a
  // verifier that has seen neither.
  quote::Quote other_type = good;
  other_type.cert_type = 4;
  auto fresh = core::value_or_throw(
      quote::Verifier::create(quote::Trust::intel(), core::value_or_throw(quote::load_collateral_dir(dir)), o));
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    auto typed = fresh->verify(other_type);
    CHECK_FALSE(typed.verified);
    CHECK(typed.status == "UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE");
    CHECK(fresh->verify(good).verified);
  }

  // Two platforms' verifiers on one thread, taking turns: each quote's QE
  // report is checked with its own PCK key.
  auto other_dir = quotes_dir() / "tdx-v5-90c06f-uptodate";
  auto other_expected = json::parse(slurp(other_dir / "expected.json"));
  quote::VerifyOptions other_o = o;
  other_o.at = other_expected["verify_time_unix"].get<time_t>();
  auto other = core::value_or_throw(quote::Verifier::create(
      quote::Trust::intel(), core::value_or_throw(quote::load_collateral_dir(other_dir)), other_o));
  auto other_q = load_quote(other_dir / "quote.bin");
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    CHECK(v->verify(good).verified);
    CHECK(other->verify(other_q).verified);
    // Each verifier refuses the other platform's quote at the collateral
    // match, whatever key the thread used last.
    CHECK_FALSE(v->verify(other_q).verified);
    CHECK_FALSE(other->verify(good).verified);
  }
}

TEST_CASE("the v5 quote reports launch and current TCB", "[quote]") {
  auto dir = quotes_dir() / "tdx-v5-90c06f-uptodate";
  auto v = verify_with(load_quote(dir / "quote.bin"), core::value_or_throw(quote::load_collateral_dir(dir)), 1772323200);
  REQUIRE(v.verified);
  REQUIRE(v.launch);
  REQUIRE(v.current);
  CHECK(v.launch->status == "UpToDate");
  CHECK(v.current->status == "UpToDate");
}

TEST_CASE("negative vectors fail at the step Intel QVL names", "[quote]") {
  auto base = quotes_dir() / "tdx-v4-b0c06f-uptodate";
  auto neg = quotes_dir() / "negative-b0c06f";
  auto files = core::value_or_throw(quote::load_collateral_dir(base));
  auto good = load_quote(base / "quote.bin");
  struct Case {
    std::string file, step, status;
  };
  for (const Case& c : std::vector<Case>{
           {"quote-bad-quote-sig.bin", "quote", "INVALID_QUOTE_SIGNATURE"},
           {"quote-bad-att-key.bin", "quote", "INVALID_QE_REPORT_DATA"},
           {"quote-bad-qe-report-sig.bin", "quote", "INVALID_QE_REPORT_SIGNATURE"},
           {"quote-bad-qe-auth-data.bin", "quote", "INVALID_QE_REPORT_DATA"}}) {
    INFO(c.file);
    auto v = verify_with(load_quote(neg / c.file), files, 1750809600);
    REQUIRE_FALSE(v.verified);
    CHECK(v.failure->step == c.step);
    CHECK(v.status == c.status);
  }
  SECTION("tampered TCB info") {
    auto f = files;
    f.tcb_info = slurp(neg / "tcb_info-tampered.json");
    auto v = verify_with(good, f, 1750809600);
    REQUIRE_FALSE(v.verified);
    CHECK(v.failure->step == "tcb_info");
    CHECK(v.status == "TCB_INFO_INVALID_SIGNATURE");
  }
  SECTION("tampered QE identity") {
    auto f = files;
    f.qe_identity = slurp(neg / "qe_identity-tampered.json");
    auto v = verify_with(good, f, 1750809600);
    REQUIRE_FALSE(v.verified);
    CHECK(v.failure->step == "qe_identity");
    CHECK(v.status == "SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE");
  }
  SECTION("expired collateral fails with the dates") {
    auto v = verify_with(good, files, 1754006400);
    REQUIRE_FALSE(v.verified);
    CHECK(v.status == "SGX_CRL_EXPIRED");
    CHECK_THAT(v.failure->message, Catch::Contains("expired") && Catch::Contains("2025-08-01T00:00:00Z") &&
                                       Catch::Contains("2025-07-"));
  }
  SECTION("collateral not yet valid") {
    auto v = verify_with(good, files, 1750291200);
    REQUIRE_FALSE(v.verified);
    CHECK_THAT(v.failure->message, Catch::Contains("not yet valid"));
  }
  SECTION("--allow-expired-collateral reports instead of failing") {
    quote::VerifyOptions o;
    o.at = 1754006400;
    o.allow_expired_collateral = true;
    auto verifier = core::value_or_throw(quote::Verifier::create(quote::Trust::intel(), files, o));
    auto v = verifier->verify(good);
    CHECK(v.verified);
    CHECK(v.collateral_expired);
  }
  SECTION("FMSPC mismatch") {
    auto v = verify_with(load_quote(quotes_dir() / "tdx-v4-00806f05-outofdate/quote.bin"), files, 1750809600);
    REQUIRE_FALSE(v.verified);
    CHECK(v.status == "TCB_INFO_MISMATCH");
    CHECK_THAT(v.failure->message, Catch::Contains("00806f050000"));
  }
  SECTION("a foreign trust root rejects Intel's chain") {
    // Pin the PCK Platform CA instead of the root: the chain no longer ends at the pin.
    auto chain = core::value_or_throw(quote::load_pem_chain(good.cert_data, "chain"));
    quote::Trust t;
    t.root.reset(X509_dup(chain[1].get()));
    t.root_spki = quote::spki_der(t.root.get());
    t.root_der = quote::cert_der(t.root.get());
    t.is_intel = false;
    quote::VerifyOptions o;
    o.at = 1750809600;
    auto verifier = core::value_or_throw(quote::Verifier::create(std::move(t), files, o));
    auto v = verifier->verify(good);
    REQUIRE_FALSE(v.verified);
    CHECK(v.status == "SGX_PCK_CERT_CHAIN_UNTRUSTED");
  }
}

TEST_CASE("flipping any byte makes verification fail at the right step", "[quote]") {
  auto base = quotes_dir() / "tdx-v4-b0c06f-uptodate";
  auto files = core::value_or_throw(quote::load_collateral_dir(base));
  auto raw = slurp(base / "quote.bin");
  auto good = load_quote(base / "quote.bin");
  quote::VerifyOptions o;
  o.at = 1750809600;
  o.warm = false;
  auto verifier = core::value_or_throw(quote::Verifier::create(quote::Trust::intel(), files, o));
  auto flip_quote = [&](size_t offset) {
    std::string copy = raw;
    copy[offset] = static_cast<char>(copy[offset] ^ 0x01);
    auto q = quote::parse_quote(core::as_bytes(copy));
    if (!q) return std::string("parse");
    auto v = verifier->verify(*q);
    return v.verified ? std::string("verified") : v.failure->step;
  };
  // Header fields other than user_data are validated by the parser; the
  // rest of the signed region is covered by the quote signature.
  for (size_t off = 28; off < good.signed_len; off += 7) {
    INFO("signed region offset " << off);
    CHECK(flip_quote(off) == "quote");
  }
  for (size_t off = 636; off < 636 + 64; off += 5) CHECK(flip_quote(off) == "quote"); // signature
  for (size_t off = good.qe_report_offset; off < good.qe_report_offset + 384 + 64; off += 9) {
    INFO("QE report offset " << off);
    CHECK(flip_quote(off) == "quote");
  }
  // The PEM chain: every certificate byte is signed, so a flip in the
  // base64 text breaks parsing or a signature.
  size_t pem_start = raw.find("-----BEGIN CERTIFICATE-----");
  for (size_t off = pem_start + 40; off < pem_start + 3000; off += 53) {
    if (raw[off] == '\n' || raw[off] == '-') continue;
    INFO("PCK chain offset " << off);
    auto step = flip_quote(off);
    CHECK(step == "pck_chain");
  }
  auto flip_json = [&](std::string quote::CollateralFiles::*member, std::string_view key, const char* step) {
    std::string body = files.*member;
    auto member_view = *quote::raw_json_member(body, key);
    size_t start = static_cast<size_t>(member_view.data() - body.data());
    for (size_t off = start; off < start + member_view.size(); off += member_view.size() / 40 + 1) {
      auto f = files;
      std::string& text = f.*member;
      text[off] = static_cast<char>(text[off] ^ 0x01);
      quote::VerifyOptions oo = o;
      auto vv = core::value_or_throw(quote::Verifier::create(quote::Trust::intel(), f, oo));
      auto v = vv->verify(good);
      INFO(key << " offset " << off);
      REQUIRE_FALSE(v.verified);
      CHECK(v.failure->step == step);
    }
  };
  flip_json(&quote::CollateralFiles::tcb_info, "tcbInfo", "tcb_info");
  flip_json(&quote::CollateralFiles::qe_identity, "enclaveIdentity", "qe_identity");
}

TEST_CASE("default policy rejects the DEBUG TD and accepts UpToDate only", "[quote]") {
  auto dir = quotes_dir() / "tdx-v4-50806f-debug";
  auto q = load_quote(dir / "quote.bin");
  auto v = verify_with(q, core::value_or_throw(quote::load_collateral_dir(dir)), 1688169600);
  REQUIRE(v.verified);
  CHECK(v.status == "UpToDate");
  quote::Policy policy;
  auto r = quote::evaluate_policy(policy, q, v);
  CHECK_FALSE(r.passed);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "debug");
  policy.allow_debug = true;
  CHECK(quote::evaluate_policy(policy, q, v).passed);

  auto ood_dir = quotes_dir() / "tdx-v4-00806f05-outofdate";
  auto ood = load_quote(ood_dir / "quote.bin");
  auto vo = verify_with(ood, core::value_or_throw(quote::load_collateral_dir(ood_dir)), 1738368000);
  REQUIRE(vo.verified);
  quote::Policy strict;
  auto ro = quote::evaluate_policy(strict, ood, vo);
  CHECK_FALSE(ro.passed);
  CHECK(ro.failures[0].check == "tcb_status");
  strict.accept_tcb = {"UpToDate", "OutOfDate"};
  CHECK(quote::evaluate_policy(strict, ood, vo).passed);
}

TEST_CASE("policy pins name expected and actual values", "[quote]") {
  auto dir = quotes_dir() / "tdx-v4-b0c06f-uptodate";
  auto q = load_quote(dir / "quote.bin");
  auto v = verify_with(q, core::value_or_throw(quote::load_collateral_dir(dir)), 1750809600);
  quote::Policy p;
  p.mr_td.push_back(q.td->mr_td);
  p.rtmr[0] = q.td->rtmr[0];
  CHECK(quote::evaluate_policy(p, q, v).passed);
  quote::Blob<48> other{};
  p.rtmr[1] = other;
  p.report_data = quote::nonce_report_data(core::as_bytes("nonce"));
  auto r = quote::evaluate_policy(p, q, v);
  CHECK_FALSE(r.passed);
  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0].check == "report_data");
  CHECK(r.failures[0].actual == core::to_hex(q.td->report_data));
  CHECK(r.failures[1].check == "rtmr1");
  CHECK(r.failures[1].expected == std::string(96, '0'));
}

TEST_CASE("a batch streams every report in input order and counts the outcomes", "[quote]") {
  auto base = quotes_dir() / "tdx-v4-b0c06f-uptodate";
  quote::VerifyOptions o;
  o.at = 1750809600;
  auto verifiers = core::value_or_throw(quote::VerifierSet::open(base, quote::Trust::intel(), o));
  core::TempDir dir({}, "batch-test");
  std::vector<quote::VerifyInput> inputs;
  const std::string good = slurp(base / "quote.bin"); // the inputs view it
  for (int i = 0; i < 2000; ++i) inputs.push_back({"good" + std::to_string(i), good});
  // Read by the worker that reaches it, as the CLI passes files.
  core::write_file_atomic(dir / "bad.bin", slurp(quotes_dir() / "negative-b0c06f/quote-bad-quote-sig.bin"), 0600,
                          core::Force::no);
  inputs.push_back({(dir / "bad.bin").string(), {}, true});
  inputs.push_back({"garbage", "not a quote"});
  inputs.push_back({(dir / "missing.bin").string(), {}, true});
  std::vector<std::string> rendered(inputs.size());
  std::string stream;
  int sink_calls = 0;
  auto counts = quote::verify_stream(
      *verifiers, quote::Policy{}, inputs, quote::InputFormat::automatic, 4,
      [&](size_t index, const quote::VerifyReport& r, std::string& out) {
        // Appends to the worker's buffer, which holds the run's earlier reports.
        const size_t at = out.size();
        out += r.name + " " + (r.input_error ? r.input_error->code : r.verdict.status);
        if (r.quote && r.quote->td) out += " " + core::to_hex(r.quote->td->mr_td);
        out += "\n";
        rendered[index] = out.substr(at);
      },
      [&](std::string_view chunk) {
        stream += chunk;
        ++sink_calls;
      });
  CHECK(counts.total == inputs.size());
  CHECK(counts.accepted == 2000);
  CHECK(counts.invalid == 2);
  CHECK(counts.no_collateral == 0);
  std::string expected;
  for (const auto& line : rendered) expected += line;
  CHECK(stream == expected); // every report once, in input order
  CHECK(rendered[1999].starts_with("good1999 UpToDate "));
  CHECK(rendered[2000].starts_with((dir / "bad.bin").string() + " INVALID_QUOTE_SIGNATURE "));
  CHECK(rendered[2001] == "garbage base64.bad_length\n"); // auto format: text that is not hex is base64
  CHECK(rendered[2002] == (dir / "missing.bin").string() + " file.unreadable\n");
  CHECK(sink_calls > 1); // streamed in chunks, not held to the end
}
