// Reading DCAP collateral: the seven files of a set, the raw-byte slice of the
// signed JSON value (never re-serialized: the signature covers the exact bytes
// PCS sent, spec §3.1), and the TCB info / QE identity fields via nlohmann.
// Field errors name the file and the JSON path.
#include "tdxctl/quote/collateral.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/json_limits.hpp"
#include "tdxctl/quote/crypto.hpp"

#include <nlohmann/json.hpp>

#include <cstring>

#include <fmt/format.h>

namespace tdx::quote {
namespace {

using nlohmann::json;

struct FieldError {
  std::string message;
};

core::Error bad(std::string_view what, std::string message) {
  return core::Error{core::Category::invalid_input, "collateral.invalid",
                     fmt::format("{}: {}", what, message), {}};
}

const json& need(const json& obj, const char* key, const std::string& path) {
  if (!obj.is_object() || !obj.contains(key))
    throw FieldError{fmt::format("{}.{} is missing", path, key)};
  return obj.at(key);
}

std::string need_str(const json& obj, const char* key, const std::string& path) {
  const json& v = need(obj, key, path);
  if (!v.is_string()) throw FieldError{fmt::format("{}.{} must be a string", path, key)};
  return v.get<std::string>();
}

int64_t need_int(const json& obj, const char* key, const std::string& path, int64_t max = 0xffff) {
  const json& v = need(obj, key, path);
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > max)
    throw FieldError{fmt::format("{}.{} must be an integer 0..{}", path, key, max)};
  return v.get<int64_t>();
}

template <size_t N> Blob<N> need_hex(const json& obj, const char* key, const std::string& path) {
  std::string text = need_str(obj, key, path);
  auto bytes = core::from_hex(text, key);
  if (!bytes || bytes->size() != N)
    throw FieldError{fmt::format("{}.{} must be {} hex digits, got '{}'", path, key, 2 * N, text)};
  Blob<N> out;
  std::memcpy(out.data(), bytes->data(), N);
  return out;
}

time_t need_time(const json& obj, const char* key, const std::string& path) {
  std::string text = need_str(obj, key, path);
  auto t = parse_time(text, path + "." + key);
  if (!t) throw FieldError{t.error().message};
  return *t;
}

const json& need_array(const json& obj, const char* key, const std::string& path) {
  const json& v = need(obj, key, path);
  if (!v.is_array()) throw FieldError{fmt::format("{}.{} must be an array", path, key)};
  return v;
}

void read_common_level(const json& level, const std::string& path, TcbLevel& out) {
  out.date = need_time(level, "tcbDate", path);
  out.status = need_str(level, "tcbStatus", path);
  if (level.contains("advisoryIDs")) {
    for (const auto& a : need_array(level, "advisoryIDs", path)) {
      if (!a.is_string()) throw FieldError{path + ".advisoryIDs must hold strings"};
      out.advisories.push_back(a.get<std::string>());
    }
  }
}

std::array<uint16_t, 16> components(const json& tcb, const char* key, const std::string& path) {
  const json& arr = need_array(tcb, key, path);
  if (arr.size() != 16)
    throw FieldError{fmt::format("{}.{} has {} entries; expected 16", path, key, arr.size())};
  std::array<uint16_t, 16> out{};
  for (size_t i = 0; i < 16; ++i) {
    // The common case without building the element's path (32 per level).
    const json& c = arr[i];
    if (c.is_object()) {
      auto it = c.find("svn");
      if (it != c.end() && it->is_number_integer() && it->get<int64_t>() >= 0 && it->get<int64_t>() <= 255) {
        out[i] = static_cast<uint16_t>(it->get<int64_t>());
        continue;
      }
    }
    out[i] = static_cast<uint16_t>(need_int(c, "svn", fmt::format("{}.{}[{}]", path, key, i), 255)); // throws
  }
  return out;
}

std::vector<TcbLevel> isvsvn_levels(const json& obj, const std::string& path) {
  std::vector<TcbLevel> out;
  const json& levels = need_array(obj, "tcbLevels", path);
  for (size_t i = 0; i < levels.size(); ++i) {
    std::string lp = fmt::format("{}.tcbLevels[{}]", path, i);
    TcbLevel level;
    level.isvsvn = static_cast<uint16_t>(need_int(need(levels[i], "tcb", lp), "isvsvn", lp + ".tcb"));
    read_common_level(levels[i], lp, level);
    out.push_back(std::move(level));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TcbLevel& a, const TcbLevel& b) { return a.isvsvn > b.isvsvn; });
  return out;
}

ModuleIdentity module_identity(const json& obj, const std::string& path, bool with_levels) {
  ModuleIdentity m;
  if (obj.contains("id")) m.id = need_str(obj, "id", path);
  m.mrsigner = need_hex<48>(obj, "mrsigner", path);
  m.attributes = need_hex<8>(obj, "attributes", path);
  m.attributes_mask = need_hex<8>(obj, "attributesMask", path);
  if (with_levels) m.levels = isvsvn_levels(obj, path);
  return m;
}

json parse_json(std::string_view raw, std::string_view what) {
  // Collateral arrives from PCS/PCCS: the network bound on nesting applies.
  if (size_t at = core::json_depth_exceeded_at(raw); at != std::string_view::npos)
    throw FieldError{fmt::format("JSON nested deeper than {} levels at byte offset {}", core::k_max_json_depth, at)};
  try {
    return json::parse(raw);
  } catch (const json::parse_error& e) {
    throw FieldError{fmt::format("not valid JSON at byte {}: {}", e.byte, e.what())};
  }
  (void)what;
}

} // namespace

const std::array<const char*, 7>& collateral_file_names() {
  static const std::array<const char*, 7> names{
      "tcb_info.json",   "tcb_info_issuer_chain.pem", "qe_identity.json",
      "qe_identity_issuer_chain.pem", "pck_crl.der", "pck_crl_issuer_chain.pem",
      "root_ca_crl.der"};
  return names;
}

core::Result<CollateralFiles> load_collateral_dir(const std::filesystem::path& dir) {
  CollateralFiles files;
  files.source = dir.string();
  std::string* slots[] = {&files.tcb_info, &files.tcb_info_issuer_chain, &files.qe_identity,
                          &files.qe_identity_issuer_chain, &files.pck_crl,
                          &files.pck_crl_issuer_chain, &files.root_ca_crl};
  for (size_t i = 0; i < 7; ++i) {
    auto content = core::read_file(dir / collateral_file_names()[i]);
    if (!content)
      return core::fail(core::Category::not_ready, "collateral.missing",
                        fmt::format("collateral directory {} lacks {}: {}", dir.string(),
                                    collateral_file_names()[i], content.error().message),
                        "run `tdxctl collateral fetch` or point --collateral at a complete set");
    *slots[i] = std::move(*content);
  }
  return files;
}

std::optional<std::string_view> raw_json_member(std::string_view body, std::string_view key) {
  // Walk the top-level object: depth 1 strings followed by ':' are keys.
  int depth = 0;
  size_t i = 0;
  auto skip_string = [&](size_t start) -> size_t { // returns index after closing quote
    size_t j = start + 1;
    while (j < body.size() && body[j] != '"') j += body[j] == '\\' ? 2 : 1;
    return j + 1;
  };
  while (i < body.size()) {
    char c = body[i];
    if (c == '"') {
      size_t end = skip_string(i);
      if (end > body.size()) return std::nullopt;
      std::string_view name = body.substr(i + 1, end - i - 2);
      size_t k = end;
      while (k < body.size() && std::isspace(static_cast<unsigned char>(body[k]))) ++k;
      if (depth == 1 && k < body.size() && body[k] == ':' && name == key) {
        ++k;
        while (k < body.size() && std::isspace(static_cast<unsigned char>(body[k]))) ++k;
        if (k >= body.size() || body[k] != '{') return std::nullopt;
        int d = 0;
        for (size_t m = k; m < body.size();) {
          if (body[m] == '"') { m = skip_string(m); continue; }
          if (body[m] == '{' || body[m] == '[') ++d;
          if (body[m] == '}' || body[m] == ']') {
            if (--d == 0) return body.substr(k, m - k + 1);
          }
          ++m;
        }
        return std::nullopt;
      }
      i = end;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    ++i;
  }
  return std::nullopt;
}

core::Result<TcbInfo> parse_tcb_info(std::string_view raw, std::string_view what) {
  try {
    json j = parse_json(raw, what);
    const std::string p = "tcbInfo";
    TcbInfo t;
    t.id = j.contains("id") ? need_str(j, "id", p) : "SGX";
    t.version = static_cast<int>(need_int(j, "version", p));
    t.issue_date = need_time(j, "issueDate", p);
    t.next_update = need_time(j, "nextUpdate", p);
    t.fmspc = need_hex<6>(j, "fmspc", p);
    t.pce_id = need_hex<2>(j, "pceId", p);
    t.tcb_type = static_cast<int>(need_int(j, "tcbType", p));
    t.evaluation_data_number = static_cast<int>(need_int(j, "tcbEvaluationDataNumber", p, 1 << 30));
    bool tdx = t.id == "TDX";
    if (tdx && j.contains("tdxModule")) t.tdx_module = module_identity(j["tdxModule"], p + ".tdxModule", false);
    if (tdx && j.contains("tdxModuleIdentities")) {
      t.has_module_identities = true;
      const json& ids = need_array(j, "tdxModuleIdentities", p);
      for (size_t i = 0; i < ids.size(); ++i)
        t.module_identities.push_back(
            module_identity(ids[i], fmt::format("{}.tdxModuleIdentities[{}]", p, i), true));
    }
    const json& levels = need_array(j, "tcbLevels", p);
    for (size_t i = 0; i < levels.size(); ++i) {
      std::string lp = fmt::format("{}.tcbLevels[{}]", p, i);
      const json& tcb = need(levels[i], "tcb", lp);
      TcbLevel level;
      level.sgx = components(tcb, "sgxtcbcomponents", lp + ".tcb");
      if (tdx) level.tdx = components(tcb, "tdxtcbcomponents", lp + ".tcb");
      level.pcesvn = static_cast<uint16_t>(need_int(tcb, "pcesvn", lp + ".tcb"));
      read_common_level(levels[i], lp, level);
      t.levels.push_back(std::move(level));
    }
    return t;
  } catch (const FieldError& e) {
    return std::unexpected(bad(what, e.message));
  } catch (const json::exception& e) {
    return std::unexpected(bad(what, e.what()));
  }
}

core::Result<QeIdentity> parse_qe_identity(std::string_view raw, std::string_view what) {
  try {
    json j = parse_json(raw, what);
    const std::string p = "enclaveIdentity";
    QeIdentity q;
    q.id = need_str(j, "id", p);
    q.version = static_cast<int>(need_int(j, "version", p));
    q.issue_date = need_time(j, "issueDate", p);
    q.next_update = need_time(j, "nextUpdate", p);
    q.evaluation_data_number = static_cast<int>(need_int(j, "tcbEvaluationDataNumber", p, 1 << 30));
    q.miscselect = need_hex<4>(j, "miscselect", p);
    q.miscselect_mask = need_hex<4>(j, "miscselectMask", p);
    q.attributes = need_hex<16>(j, "attributes", p);
    q.attributes_mask = need_hex<16>(j, "attributesMask", p);
    q.mrsigner = need_hex<32>(j, "mrsigner", p);
    q.isvprodid = static_cast<uint16_t>(need_int(j, "isvprodid", p));
    q.levels = isvsvn_levels(j, p);
    return q;
  } catch (const FieldError& e) {
    return std::unexpected(bad(what, e.message));
  } catch (const json::exception& e) {
    return std::unexpected(bad(what, e.what()));
  }
}

} // namespace tdx::quote
