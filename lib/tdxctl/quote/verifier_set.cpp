// Per-platform verifiers. A cache entry that fails to load is remembered as
// failed, so a thousand quotes of a platform without collateral cost one
// look at the disk and all get the same message.
#include "tdxctl/quote/verifier_set.hpp"

#include <fmt/format.h>

namespace tdx::quote {

namespace fs = std::filesystem;

core::Result<std::unique_ptr<VerifierSet>> VerifierSet::open(const fs::path& collateral, Trust trust,
                                                              VerifyOptions options) {
  std::unique_ptr<VerifierSet> set(new VerifierSet(collateral, std::move(trust), options));
  if (is_collateral_set(collateral)) {
    auto files = load_collateral_dir(collateral);
    if (!files) return std::unexpected(files.error());
    auto v = Verifier::create(set->m_trust.share(), std::move(*files), options);
    if (!v) return std::unexpected(v.error());
    set->m_single = std::move(*v);
    return set;
  }
  std::error_code ec;
  if (!fs::is_directory(collateral, ec))
    return core::fail(core::Category::not_ready, "collateral.missing",
                      fmt::format("--collateral {}: no such directory", collateral.string()),
                      "run `tdxctl collateral fetch --pcs --quote QUOTE`, or name a set directory");
  return set;
}

core::Result<const Verifier*> VerifierSet::for_quote(const Quote& quote, std::string_view what) const {
  if (m_single) return m_single.get();
  auto key = collateral_key(quote, what);
  if (!key) return std::unexpected(key.error());
  std::string name = key->cache_name();
  std::lock_guard lock(m_mutex);
  auto it = m_by_name.find(name);
  if (it == m_by_name.end()) {
    core::Result<std::shared_ptr<const Verifier>> made = std::unexpected(core::Error{});
    if (!is_collateral_set(m_dir / name)) {
      made = core::fail(core::Category::not_ready, "collateral.missing_fmspc",
                        fmt::format("no collateral for its FMSPC {} in {} (neither a set nor a cache holding {}/)",
                                    name, m_dir.string(), name));
    } else if (auto files = load_collateral_dir(m_dir / name); !files) {
      made = std::unexpected(files.error());
    } else if (auto v = Verifier::create(m_trust.share(), std::move(*files), m_options); !v) {
      made = std::unexpected(v.error());
    } else {
      made = std::shared_ptr<const Verifier>(std::move(*v));
    }
    it = m_by_name.emplace(name, std::move(made)).first;
  }
  if (!it->second) {
    // Stored without the quote's name: the same error serves every quote of the platform.
    auto e = it->second.error();
    e.message = fmt::format("{}: {}", what, e.message);
    if (e.code == "collateral.missing_fmspc")
      e.hint = fmt::format("run 'tdxctl collateral fetch --pcs --quote {}' (or --pccs URL)", what);
    return std::unexpected(e);
  }
  return it->second->get();
}

} // namespace tdx::quote
