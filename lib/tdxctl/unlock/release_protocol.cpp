// Request parsing goes through the bounded untrusted-JSON parser: the body
// comes from anyone who can open a TLS connection to the key service.
#include "tdxctl/unlock/release_protocol.hpp"

#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/core/output.hpp"

#include <cstring>

namespace tdx::unlock {

using core::Category;

std::string attest_body_json(const AttestBody& b) {
  core::Json j{{"vm_name", b.vm_name}, {"miner_hotkey", b.miner_hotkey}};
  if (b.quote) j["quote"] = core::base64_encode(*b.quote);
  if (b.sample_report_data)
    j["evidence"] = core::Json{{"type", k_sample_evidence_type}, {"report_data", core::to_hex(*b.sample_report_data)}};
  return j.dump();
}

core::Result<AttestBody> parse_attest_body(std::string_view text) {
  auto bad = [](std::string m) { return core::fail(Category::invalid_input, "keys.bad_request", std::move(m)); };
  auto parsed = core::parse_untrusted_json(text, "the attestation request");
  if (!parsed) return bad(parsed.error().message);
  const core::Json& doc = *parsed;
  if (!doc.is_object()) return bad("the attestation request is not a JSON object");
  AttestBody out;
  for (auto [key, into] : {std::pair{"vm_name", &out.vm_name}, std::pair{"miner_hotkey", &out.miner_hotkey}}) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return bad(std::string("no \"") + key + "\" string");
    *into = it->get<std::string>();
  }
  auto quote = doc.find("quote");
  auto evidence = doc.find("evidence");
  if ((quote == doc.end()) == (evidence == doc.end()))
    return bad("exactly one of \"quote\" and \"evidence\" is expected");
  if (quote != doc.end()) {
    if (!quote->is_string()) return bad("\"quote\" is not a string");
    auto bytes = core::base64_decode(quote->get_ref<const std::string&>(), "quote");
    if (!bytes) return bad(bytes.error().message);
    out.quote = std::move(*bytes);
    return out;
  }
  if (!evidence->is_object()) return bad("\"evidence\" is not an object");
  auto type = evidence->find("type");
  if (type == evidence->end() || !type->is_string() || type->get_ref<const std::string&>() != k_sample_evidence_type)
    return bad("\"evidence.type\" is not \"sample\" (the only evidence besides a quote)");
  auto rd = evidence->find("report_data");
  if (rd == evidence->end() || !rd->is_string()) return bad("no \"evidence.report_data\" string");
  auto bytes = core::from_hex(rd->get_ref<const std::string&>(), "evidence.report_data");
  if (!bytes || bytes->size() != 64) return bad("\"evidence.report_data\" is not 128 hex digits (64 bytes)");
  std::array<uint8_t, 64> a{};
  std::memcpy(a.data(), bytes->data(), 64);
  out.sample_report_data = a;
  return out;
}

bool is_wire_safe_key(std::string_view key) {
  if (key.empty()) return false;
  for (unsigned char c : key)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

core::Secret key_response_body(const core::Secret& key, const core::Secret* containerd_key) {
  for (const core::Secret* s : {&key, containerd_key})
    if (s && !is_wire_safe_key(s->reveal()))
      throw core::Failure(Category::failed, "keys.key_not_wire_safe",
                          "a stored key is not printable ASCII without '\"' and '\\'",
                          "register the VM again with `tdxctl keys add --force`");
  if (!containerd_key) return core::Secret::concat({"{\"key\":\"", key.reveal(), "\"}"});
  return core::Secret::concat(
      {"{\"key\":\"", key.reveal(), "\",\"containerd_key\":\"", containerd_key->reveal(), "\"}"});
}

} // namespace tdx::unlock
