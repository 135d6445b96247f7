// The key-release loop. Each attempt gets a new nonce and a new quote, so a
// recorded quote can never be replayed; the key and boot token exist only in
// Secrets (the parsed JSON strings holding them are cleansed before the
// document is dropped).
#include "tdxctl/unlock/key_release.hpp"

#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/unlock/mtls_client.hpp"
#include "tdxctl/unlock/release_protocol.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <thread>

namespace tdx::unlock {
namespace {

using core::Category;

// Wipes every string in a parsed response before it is freed. An explicit
// stack, not recursion: the depth is bounded at parse time, but a wipe must
// not be the thing that decides how deep a hostile reply may go.
void cleanse(core::Json& root) {
  std::vector<core::Json*> pending{&root};
  while (!pending.empty()) {
    core::Json* j = pending.back();
    pending.pop_back();
    if (j->is_string()) {
      auto& s = j->get_ref<std::string&>();
      if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
    } else if (j->is_structured()) {
      for (auto& v : *j) pending.push_back(&v);
    }
  }
}

struct Outcome {
  enum Kind { ok, retry, backoff, stop } kind = retry;
  core::Error error;
};

Outcome from_status(const std::string& what, long status, int attempt, int total) {
  Outcome o;
  o.error = core::Error{Category::failed, "unlock.http", fmt::format("{} answered HTTP {} (attempt {} of {})", what, status, attempt, total)};
  if (status == 404) {
    o.kind = Outcome::stop;
    o.error.code = "unlock.not_found";
    o.error.message += "; not retrying";
    o.error.hint = "the key service does not know this VM (check the hotkey and vm name on the tdx-config volume "
                   "and that the image's key is registered)";
  } else if (status == 429) {
    o.kind = Outcome::backoff;
    o.error.code = "unlock.rate_limited";
  } else if (status == 401 || status == 403) {
    o.error.hint = "the key service rejected this TD's attestation or client certificate";
  }
  return o;
}

} // namespace

core::Json Attempt::to_json() const {
  core::Json j{{"attempt", number}, {"stage", stage}};
  if (http_status) j["http_status"] = http_status;
  if (!error.empty()) j["error"] = error;
  return j;
}

core::Result<ReleasedKey> parse_key_response(const core::Secret& body) {
  auto parsed = core::parse_untrusted_json(body.reveal(), "the attestation response");
  if (!parsed)
    return core::fail(Category::failed, "unlock.bad_response", parsed.error().message);
  core::Json& doc = *parsed;
  struct Wipe {
    core::Json& j;
    ~Wipe() { cleanse(j); }
  } wipe{doc};
  if (!doc.is_object())
    return core::fail(Category::failed, "unlock.bad_response", "the attestation response is not a JSON object");
  auto key = doc.find("key");
  if (key == doc.end() || !key->is_string() || key->get_ref<const std::string&>().empty())
    return core::fail(Category::failed, "unlock.bad_response",
                      "the attestation response has no \"key\" string");
  ReleasedKey out;
  out.key = core::Secret(key->get<std::string>());
  if (auto ck = doc.find("containerd_key"); ck != doc.end() && !ck->is_null()) {
    if (!ck->is_string() || ck->get_ref<const std::string&>().empty())
      return core::fail(Category::failed, "unlock.bad_response",
                        "\"containerd_key\" in the attestation response is not a non-empty string");
    out.containerd_key.emplace(ck->get<std::string>());
  }
  if (auto bt = doc.find("boot_token"); bt != doc.end() && !bt->is_null()) {
    if (!bt->is_string())
      return core::fail(Category::failed, "unlock.bad_response", "\"boot_token\" in the attestation response is not a string");
    out.boot_token.emplace(bt->get<std::string>());
  }
  if (auto ck = doc.find("containerd_key"); ck != doc.end() && !ck->is_null()) {
    if (!ck->is_string() || ck->get_ref<const std::string&>().empty())
      return core::fail(Category::failed, "unlock.bad_response",
                        "\"containerd_key\" in the attestation response is not a non-empty string");
    out.containerd_key.emplace(ck->get<std::string>());
  }
  return out;
}

core::Result<std::string> parse_nonce_response(std::string_view body) {
  auto parsed = core::parse_untrusted_json(body, "the nonce response");
  if (!parsed) return core::fail(Category::failed, "unlock.bad_nonce", parsed.error().message);
  const core::Json& doc = *parsed;
  if (!doc.is_object())
    return core::fail(Category::failed, "unlock.bad_nonce", "the nonce response is not a JSON object");
  auto it = doc.find("nonce");
  if (it == doc.end() || !it->is_string())
    return core::fail(Category::failed, "unlock.bad_nonce", "the nonce response has no \"nonce\" string");
  const auto& nonce = it->get_ref<const std::string&>();
  bool hex = nonce.size() == 64;
  for (unsigned char c : nonce) hex = hex && std::isxdigit(c);
  if (!hex)
    return core::fail(Category::failed, "unlock.bad_nonce",
                      fmt::format("the nonce must be 64 hex digits (32 bytes); got {} characters{}", nonce.size(),
                                  nonce.size() == 64 ? " with a non-hex digit" : ""));
  return nonce;
}

core::Result<std::array<uint8_t, 64>> unlock_report_data(std::string_view nonce_hex,
                                                         const std::array<uint8_t, 32>& spki_sha256) {
  auto nonce = core::from_hex(nonce_hex, "nonce");
  if (!nonce) return std::unexpected(nonce.error());
  if (nonce->size() != 32)
    return core::fail(Category::failed, "unlock.bad_nonce", "the nonce must be 32 bytes");
  std::array<uint8_t, 64> rd{};
  std::memcpy(rd.data(), nonce->data(), 32);
  std::memcpy(rd.data() + 32, spki_sha256.data(), 32);
  return rd;
}

std::expected<ReleasedKey, KeyReleaseFailure> release_key(const KeyReleaseRequest& req) {
  const UnlockConfig& cfg = *req.config;
  auto sleep = req.sleep ? req.sleep : SleepFn([](std::chrono::seconds s) { std::this_thread::sleep_for(s); });
  std::vector<Attempt> attempts;
  core::Error last;
  auto base = [&](std::string method, std::string url) {
    MtlsRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.ca_cert = cfg.ca_cert;
    r.timeout_s = cfg.timeout_s;
    r.user_agent = k_user_agent;
    r.headers = {"Accept: application/json"};
    return r;
  };

  for (int n = 1; n <= cfg.retries; ++n) {
    Attempt at{n, "nonce", 0, {}};
    Outcome outcome;
    auto record = [&](Outcome o, long status) {
      at.http_status = status;
      at.error = o.error.message;
      spdlog::warn("{}", o.error.message);
      last = o.error;
      outcome = std::move(o);
    };
    auto transport = [&](core::Error e) {
      e.message += fmt::format(" (attempt {} of {})", n, cfg.retries);
      record(Outcome{Outcome::retry, std::move(e)}, 0);
    };

    spdlog::info("attempt {} of {}: GET {}", n, cfg.retries, cfg.nonce_endpoint);
    auto nonce_resp = mtls_request(base("GET", cfg.nonce_endpoint), *req.identity);
    std::string nonce;
    if (!nonce_resp) {
      transport(nonce_resp.error());
    } else if (nonce_resp->status != 200) {
      record(from_status("GET " + cfg.nonce_endpoint, nonce_resp->status, n, cfg.retries), nonce_resp->status);
    } else if (auto parsed = parse_nonce_response(nonce_resp->body.reveal()); !parsed) {
      auto e = parsed.error();
      e.message = fmt::format("GET {}: {} (attempt {} of {})", cfg.nonce_endpoint, e.message, n, cfg.retries);
      record(Outcome{Outcome::retry, std::move(e)}, 200);
    } else {
      nonce = *parsed;
    }

    if (!nonce.empty()) {
      at.stage = req.sample_evidence ? "evidence" : "quote";
      auto rd = unlock_report_data(nonce, req.identity->spki_sha256);
      AttestBody body{req.vm_name, req.miner_hotkey, {}, {}};
      core::Result<void> evidence;
      if (!rd)
        evidence = std::unexpected(rd.error());
      else if (req.sample_evidence)
        body.sample_report_data = *rd;
      else if (auto quote = req.quote(std::span<const uint8_t, 64>(rd->data(), 64)); quote)
        body.quote = std::move(*quote);
      else
        evidence = std::unexpected(quote.error());
      if (!evidence) {
        auto e = evidence.error();
        e.message = fmt::format("quote generation: {} (attempt {} of {})", e.message, n, cfg.retries);
        record(Outcome{Outcome::retry, std::move(e)}, 0);
      } else {
        at.stage = "attest";
        auto post = base("POST", cfg.api_endpoint);
        post.headers.push_back("Content-Type: application/json");
        post.headers.push_back(std::string(k_nonce_header) + ": " + nonce);
        post.body = attest_body_json(body);
        if (body.quote)
          spdlog::info("attempt {} of {}: POST {} ({}-byte quote)", n, cfg.retries, cfg.api_endpoint,
                       body.quote->size());
        else
          spdlog::warn("attempt {} of {}: POST {} with SAMPLE evidence (no quote: insecure, for tests "
                       "without TDX only)",
                       n, cfg.retries, cfg.api_endpoint);
        auto resp = mtls_request(post, *req.identity);
        if (!resp) {
          transport(resp.error());
        } else if (resp->status != 200) {
          record(from_status("POST " + cfg.api_endpoint, resp->status, n, cfg.retries), resp->status);
        } else if (auto key = parse_key_response(resp->body); !key) {
          auto e = key.error();
          e.message = fmt::format("POST {}: {} (attempt {} of {})", cfg.api_endpoint, e.message, n, cfg.retries);
          record(Outcome{Outcome::retry, std::move(e)}, 200);
        } else {
          at.http_status = 200;
          attempts.push_back(at);
          key->attempts = std::move(attempts);
          spdlog::info("key released on attempt {} of {}{}{}", n, cfg.retries,
                       key->containerd_key ? " with a containerd key" : "",
                       key->boot_token ? " with a boot token" : "");
          return std::move(*key);
        }
      }
    }

    attempts.push_back(at);
    if (outcome.kind == Outcome::stop) break;
    if (n == cfg.retries) break;
    auto pause = std::chrono::seconds(outcome.kind == Outcome::backoff ? 2 * n : 2);
    spdlog::info("retrying in {} s", pause.count());
    sleep(pause);
  }
  core::Error final = last;
  final.message = fmt::format("no key released after {} attempt{}: {}", attempts.size(),
                              attempts.size() == 1 ? "" : "s", last.message);
  return std::unexpected(KeyReleaseFailure{std::move(final), std::move(attempts)});
}

} // namespace tdx::unlock
