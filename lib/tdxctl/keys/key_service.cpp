// Each refusal names its check and reason in the log. The client learns only
// the status: a 403 that said "MRTD mismatch" would tell a forger which
// measurement to aim at.
#include "tdxctl/keys/key_service.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/collateral.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/verify.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace tdx::keys {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<const core::Secret> public_body(std::string_view error) {
  return std::make_shared<const core::Secret>(core::Json{{"error", error}}.dump());
}

// The collateral set for this quote: `dir` itself when it is a set, else the
// cache entry for the FMSPC of the quote's PCK certificate.
core::Result<fs::path> collateral_set(const fs::path& dir, const quote::Quote& q) {
  if (fs::exists(dir / "tcb_info.json")) return dir;
  auto chain = quote::load_pem_chain(q.cert_data, "the quote's PCK chain");
  if (!chain) return std::unexpected(chain.error());
  if (chain->empty()) return core::fail(core::Category::failed, "keys.no_pck", "the quote carries no PCK certificate");
  auto info = quote::read_pck_info(chain->front().get());
  if (!info) return std::unexpected(info.error());
  std::string name = core::to_hex(info->fmspc);
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!fs::exists(dir / name / "tcb_info.json"))
    return core::fail(core::Category::failed, "keys.no_collateral",
                      fmt::format("no collateral for FMSPC {} in {} (run `tdxctl collateral fetch --pcs --fmspc {} "
                                  "--cache {}`)",
                                  name, dir.string(), name, dir.string()));
  return dir / name;
}

} // namespace

KeyService::KeyService(ServiceOptions options)
    : m_options(std::move(options)),
      m_store(m_options.store),
      m_nonces(m_options.nonce_ttl, m_options.max_nonces, m_options.nonce_source),
      m_limiter(m_options.rate_per_second, m_options.burst) {}

Decision KeyService::refuse(Decision d, int status, std::string decision, std::string check, std::string reason) const {
  d.status = status;
  d.decision = std::move(decision);
  d.check = std::move(check);
  d.reason = std::move(reason);
  d.body = public_body(status == 404   ? "unknown vm"
                       : status == 429 ? "rate limited"
                       : status == 400 ? "bad request"
                       : status == 500 ? "internal error"
                                       : "forbidden");
  return d;
}

Decision KeyService::nonce(const std::string& client) {
  Decision d;
  auto now = Clock::now();
  if (!m_limiter.allow(client, now))
    return refuse(std::move(d), 429, "rate_limited", "rate_limit",
                  fmt::format("more than {} requests at once or {}/s on average from {}", m_options.burst,
                              m_options.rate_per_second, client));
  auto hex = m_nonces.issue(now);
  d.status = 200;
  d.decision = "nonce";
  d.body = std::make_shared<const core::Secret>(
      core::Json{{"nonce", hex}, {"expires", quote::format_time(time(nullptr) + m_options.nonce_ttl.count())}}.dump());
  return d;
}

Decision KeyService::judge_quote(Decision d, const StoredVm& vm, std::span<const uint8_t> bytes,
                                 const std::array<uint8_t, 64>& expected) const {
  auto q = quote::parse_quote(bytes);
  if (!q) return refuse(std::move(d), 403, "refuse", "evidence", "the quote does not parse: " + q.error().message);
  if (!q->is_tdx() || !q->td) return refuse(std::move(d), 403, "refuse", "evidence", "not a TDX quote");
  const auto& rd = q->td->report_data;
  if (!std::equal(rd.begin(), rd.end(), expected.begin()))
    return refuse(std::move(d), 403, "refuse", "binding",
                  fmt::format("REPORTDATA {} is not nonce || SHA-256(client SPKI) = {}: a replayed or relayed quote",
                              core::to_hex(rd), core::to_hex(expected)));

  auto set = collateral_set(m_options.collateral, *q);
  if (!set) return refuse(std::move(d), 403, "refuse", "verification", set.error().message);
  auto files = quote::load_collateral_dir(*set);
  if (!files) return refuse(std::move(d), 403, "refuse", "verification", files.error().message);
  quote::VerifyOptions vo;
  vo.at = m_options.verify_clock ? m_options.verify_clock() : time(nullptr);
  auto verifier = quote::Verifier::create(quote::Trust::intel(), std::move(*files), vo);
  if (!verifier) return refuse(std::move(d), 403, "refuse", "verification", verifier.error().message);
  auto verdict = (*verifier)->verify(*q);
  d.tcb_status = verdict.status;
  if (!verdict.verified)
    return refuse(std::move(d), 403, "refuse", "verification",
                  verdict.failure ? fmt::format("{}: {}: {}", verdict.failure->step, verdict.failure->status,
                                                verdict.failure->message)
                                  : "the quote did not verify (" + verdict.status + ")");
  auto result = quote::evaluate_policy(vm.policy, *q, verdict);
  if (!result.passed) {
    std::string why;
    for (const auto& f : result.failures)
      why += fmt::format("{}{}: expected {}, got {}", why.empty() ? "" : "; ", f.check, f.expected, f.actual);
    return refuse(std::move(d), 403, "refuse", "policy", "the VM's policy refuses the quote: " + why);
  }
  return d; // no decision yet: every check passed
}

Decision KeyService::attest(const AttestRequest& r) {
  Decision d;
  auto now = Clock::now();
  if (!m_limiter.allow(r.client, now))
    return refuse(std::move(d), 429, "rate_limited", "rate_limit",
                  fmt::format("more than {} requests at once or {}/s on average from {}", m_options.burst,
                              m_options.rate_per_second, r.client));
  auto body = unlock::parse_attest_body(r.body);
  if (!body) return refuse(std::move(d), 400, "bad_request", "request", body.error().message);
  bool valid_name = check_vm_name(body->vm_name).has_value();
  // Only a valid name is logged as given: the rest is attacker-chosen text.
  d.vm = valid_name ? body->vm_name : "";
  d.evidence = body->quote ? "quote" : "sample";

  // Single use, consumed whatever follows, so a refused request cannot be replayed either.
  auto nonce_state = m_nonces.consume(r.nonce, now);
  if (nonce_state != NonceCheck::ok)
    return refuse(std::move(d), 403, "refuse", "nonce", std::string(unlock::k_nonce_header) + " " + to_string(nonce_state));

  if (!valid_name) return refuse(std::move(d), 404, "unknown_vm", "vm", "vm_name is not a valid VM name");
  auto vm = m_store.load(body->vm_name);
  if (!vm) return refuse(std::move(d), 500, "refuse", "store", vm.error().message);
  if (!*vm)
    return refuse(std::move(d), 404, "unknown_vm", "vm",
                  fmt::format("{} is not registered in {}", body->vm_name, m_options.store.string()));

  if (body->sample_report_data && !m_options.insecure_accept_sample)
    return refuse(std::move(d), 403, "refuse", "evidence",
                  "sample evidence (no quote) refused: this service was not started with --insecure-accept-sample");
  if (!r.client_spki_sha256)
    return refuse(std::move(d), 403, "refuse", "binding", "no client certificate on this connection");
  std::array<uint8_t, 64> expected{};
  auto nonce_bytes = core::from_hex(r.nonce, "nonce"); // live, so 32 bytes of hex
  std::memcpy(expected.data(), nonce_bytes->data(), 32);
  std::memcpy(expected.data() + 32, r.client_spki_sha256->data(), 32);

  if (body->sample_report_data) {
    if (*body->sample_report_data != expected)
      return refuse(std::move(d), 403, "refuse", "binding",
                    fmt::format("sample REPORTDATA {} is not nonce || SHA-256(client SPKI) = {}",
                                core::to_hex(*body->sample_report_data), core::to_hex(expected)));
    // Sample evidence proves no measurement: a policy that pins one refuses it,
    // so a policy change still locks a test VM out.
    if (auto pins = quote::pinned_values((*vm)->policy); !pins.empty())
      return refuse(std::move(d), 403, "refuse", "policy",
                    fmt::format("the VM's policy pins {}, which sample evidence does not carry", fmt::join(pins, ", ")));
    d.reason = "INSECURE sample evidence: the binding was checked; there is no quote, so verification and the TCB "
               "status were skipped, and the VM's policy pins no measurement";
  } else {
    d = judge_quote(std::move(d), **vm, *body->quote, expected);
    if (!d.decision.empty()) return d; // refused, with its check and reason
    d.reason = "quote verified and the VM's policy passed";
  }
  d.status = 200;
  d.decision = "release";
  d.check = "";
  d.containerd_key = (*vm)->containerd_key.has_value();
  d.body = std::make_shared<const core::Secret>(
      unlock::key_response_body((*vm)->key, (*vm)->containerd_key ? &*(*vm)->containerd_key : nullptr));
  return d;
}

core::Json KeyService::log_line(const Decision& d, const std::string& client, const std::string& method) const {
  core::Json j{{"time", quote::format_time(time(nullptr))},
               {"event", method == "GET" ? "keys.nonce" : "keys.attest"},
               {"client", client},
               {"status", d.status},
               {"decision", d.decision}};
  if (!d.check.empty()) j["check"] = d.check;
  if (!d.reason.empty()) j["reason"] = d.reason;
  if (!d.vm.empty()) j["vm"] = d.vm;
  if (!d.evidence.empty()) j["evidence"] = d.evidence;
  if (!d.tcb_status.empty()) j["tcb_status"] = d.tcb_status;
  if (d.decision == "release") j["containerd_key"] = d.containerd_key;
  j["insecure_sample"] = m_options.insecure_accept_sample;
  return j;
}

} // namespace tdx::keys
