// Loads policy.yaml into a quote::Policy. Keys mirror the quote's field names
// (mr_td, rtmr0..3, xfam, ...); every hex value is length-checked so a pin
// that is one digit short is an error at its line, not a silent mismatch.
//
//   accept_tcb: [UpToDate, SWHardeningNeeded]
//   mr_td: [<96 hex>, ...]          # any of
//   rtmr0: <96 hex>                 # also rtmr1..3, mr_config_id, mr_owner, mr_owner_config
//   mr_seam: [<96 hex>, ...]
//   xfam: <16 hex>
//   td_attributes: <16 hex>
//   allow_debug: false
//   require_sept_ve_disable: false
//   min_tee_tcb_svn: <32 hex>
//   min_qe_svn: 4
//   min_pce_svn: 11
//   report_data: <128 hex>
#include "tdxctl/policy/policy_file.hpp"

#include "tdxctl/config/yaml_reader.hpp"
#include "tdxctl/core/hex.hpp"

#include <cstring>

#include <fmt/format.h>

namespace tdx::policy {
namespace {

template <size_t N>
std::optional<quote::Blob<N>> hex_value(config::Section& s, std::string_view key,
                                        const std::string& text) {
  auto bytes = core::from_hex(text, key);
  if (!bytes || bytes->size() != N) {
    s.error(key, fmt::format("expected {} hex digits ({} bytes), got '{}'", 2 * N, N, text));
    return std::nullopt;
  }
  quote::Blob<N> out;
  std::memcpy(out.data(), bytes->data(), N);
  return out;
}

template <size_t N> std::optional<quote::Blob<N>> hex_key(config::Section& s, std::string_view key) {
  auto text = s.str(key);
  if (!text) return std::nullopt;
  return hex_value<N>(s, key, *text);
}

std::vector<quote::Blob<48>> hex_list(config::Section& s, std::string_view key) {
  std::vector<quote::Blob<48>> out;
  auto list = s.strings(key);
  if (!list) return out;
  for (const auto& text : *list)
    if (auto b = hex_value<48>(s, key, text)) out.push_back(*b);
  return out;
}

quote::Policy read(config::YamlReader& reader) {
  auto root = reader.root();
  root.allow_only({"accept_tcb", "mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id",
                   "mr_owner", "mr_owner_config", "mr_seam", "xfam", "td_attributes",
                   "allow_debug", "require_sept_ve_disable", "min_tee_tcb_svn", "min_qe_svn",
                   "min_pce_svn", "report_data"});
  quote::Policy p;
  if (auto accept = root.strings("accept_tcb")) {
    if (auto bad = quote::unknown_tcb_status(*accept); !bad.empty()) root.error("accept_tcb", bad);
    p.accept_tcb = *accept;
  }
  p.mr_td = hex_list(root, "mr_td");
  p.mr_seam = hex_list(root, "mr_seam");
  static const char* rtmr[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
  for (size_t i = 0; i < 4; ++i) p.rtmr[i] = hex_key<48>(root, rtmr[i]);
  p.mr_config_id = hex_key<48>(root, "mr_config_id");
  p.mr_owner = hex_key<48>(root, "mr_owner");
  p.mr_owner_config = hex_key<48>(root, "mr_owner_config");
  p.xfam = hex_key<8>(root, "xfam");
  p.td_attributes = hex_key<8>(root, "td_attributes");
  p.allow_debug = root.boolean("allow_debug").value_or(false);
  p.require_sept_ve_disable = root.boolean("require_sept_ve_disable").value_or(false);
  p.min_tee_tcb_svn = hex_key<16>(root, "min_tee_tcb_svn");
  if (auto v = root.integer("min_qe_svn", 0, 0xffff)) p.min_qe_svn = static_cast<uint16_t>(*v);
  if (auto v = root.integer("min_pce_svn", 0, 0xffff)) p.min_pce_svn = static_cast<uint16_t>(*v);
  p.report_data = hex_key<64>(root, "report_data");
  reader.check();
  return p;
}

} // namespace

quote::Policy load_policy(const std::filesystem::path& path) {
  auto reader = config::YamlReader::load(path);
  return read(reader);
}

quote::Policy parse_policy(std::string_view text, const std::string& name) {
  auto reader = config::YamlReader::parse(text, name);
  return read(reader);
}

quote::Policy appraisal_policy(const quote::VerifySettings& settings) {
  quote::Policy policy;
  if (!settings.policy.empty()) policy = load_policy(settings.policy);
  if (!settings.accept.empty()) policy.accept_tcb = settings.accept;
  if (settings.allow_debug) policy.allow_debug = true;
  return policy;
}

} // namespace tdx::policy
