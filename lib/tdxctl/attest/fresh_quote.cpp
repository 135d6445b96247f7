// The endpoint is polled because a TD that was just started needs its
// kernel, userspace and `quote serve` up before it can answer; every other
// failure (bad collateral, a rejected quote) is final and reported at once.
#include "tdxctl/attest/fresh_quote.hpp"

#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/random.hpp"
#include "tdxctl/policy/policy_file.hpp"
#include "tdxctl/quote/batch.hpp"
#include "tdxctl/quote/channel.hpp"
#include "tdxctl/quote/verify_settings.hpp"
#include "tdxctl/td/vsock.hpp"

#include <chrono>
#include <ctime>
#include <thread>

namespace tdx::attest {

using core::Category;
using core::fail;

namespace {

core::Result<core::Bytes> fetch_once(const FreshQuoteRequest& r, uint32_t cid,
                                     std::span<const uint8_t, 32> nonce) {
  auto conn = r.unix_socket.empty() ? quote::connect_vsock(cid, r.port) : quote::connect_unix(r.unix_socket);
  if (!conn) return std::unexpected(conn.error());
  return quote::request_quote(*conn, nonce);
}

} // namespace

core::Result<FreshQuoteResult> fetch_and_verify(const FreshQuoteRequest& r) {
  FreshQuoteResult out;
  // Everything that does not need the guest is checked first, so a typo in
  // the policy does not cost the whole wait.
  quote::Policy policy;
  try {
    policy = policy::appraisal_policy(r.verify);
  } catch (const core::Failure& f) {
    return std::unexpected(f.error());
  }
  // One set, or the collateral cache (the set for this host's FMSPC).
  auto verifier = quote::make_verifier(r.verify);
  if (!verifier) return std::unexpected(verifier.error());

  uint32_t cid = 0;
  if (r.unix_socket.empty()) {
    auto c = td::vsock_cid(r.connect_uri, r.domain);
    if (!c) return std::unexpected(c.error());
    cid = *c;
    out.endpoint = "vsock " + std::to_string(cid) + ":" + std::to_string(r.port);
  } else {
    out.endpoint = "unix " + r.unix_socket;
  }

  auto random = core::random_nonce();
  if (!random) return std::unexpected(random.error());
  const std::array<uint8_t, 32>& nonce = *random;
  out.nonce_hex = core::to_hex(nonce);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(r.timeout_s);
  core::Result<core::Bytes> bytes = fetch_once(r, cid, nonce);
  while (!bytes && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    bytes = fetch_once(r, cid, nonce);
  }
  if (!bytes)
    return fail(Category::not_ready, "attest.unreachable",
                "the TD's attestation endpoint (" + out.endpoint + ") did not answer within " +
                    std::to_string(r.timeout_s) + " s: " + bytes.error().message,
                "check that the guest runs `tdxctl quote serve --vsock " + std::to_string(r.port) +
                    "` (tdxctl-quote-serve.service), or raise --timeout");
  out.quote_size = bytes->size();
  policy.report_data = quote::fetch_report_data(nonce);
  auto report = quote::verify_input(**verifier, policy,
                                    {"fresh quote from " + r.domain, std::string(bytes->begin(), bytes->end())},
                                    quote::InputFormat::binary);
  out.accepted = report.accepted();
  out.verification = report.to_json();
  if (out.accepted) {
    out.summary = "fresh quote from " + out.endpoint + " verified against " +
                  (r.verify.policy.empty() ? std::string("the TCB status") : r.verify.policy);
  } else if (report.input_error && report.input_error->category == Category::not_ready) {
    out.summary = report.input_error->message; // no collateral for the TD's platform
  } else if (report.input_error) {
    out.summary = "the TD answered with something that is not a quote: " + report.input_error->message;
  } else if (!report.verdict.verified) {
    out.summary = "the fresh quote did not verify (signatures, collateral or TCB status)";
  } else {
    std::string checks;
    for (const auto& f : out.verification["policy"]["failures"])
      checks += (checks.empty() ? "" : ", ") + f.value("check", std::string("?"));
    out.summary = "the fresh quote does not satisfy the policy (" + checks + ")";
  }
  return out;
}

} // namespace tdx::attest
