// tdxctl collateral: Intel PCS/PCCS collateral: fetch into the local cache
#include "context.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/collateral_cache.hpp"
#include "tdxctl/quote/collateral_fetch.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/quote.hpp"

#include <fmt/format.h>

#include <map>

namespace tdx::cmd {

void add_collateral(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("collateral", "Intel PCS/PCCS collateral: fetch into the local cache");
  group->require_subcommand(1);
  struct Args {
    std::string pccs, fmspc, cache, cacert, ca;
    std::vector<std::string> quote_files, headers;
    bool pcs = false;
    bool sgx = false;
  };
  auto args = std::make_shared<Args>();
  auto* fetch = group->add_subcommand("fetch", "Fetch collateral for an FMSPC into the cache (content-addressed, atomic)");
  auto* pccs = fetch->add_option("--pccs", args->pccs, "PCCS base URL, e.g. https://pccs.example:8081")->type_name("URL");
  auto* pcs = fetch->add_flag("--pcs", args->pcs, "Use Intel PCS (api.trustedservices.intel.com)");
  pccs->excludes(pcs);
  auto* fm = fetch->add_option("--fmspc", args->fmspc, "Platform FMSPC (12 hex digits)")->type_name("HEX");
  auto* qf = fetch->add_option("--quote,--quotes", args->quote_files,
                               "Take FMSPC and PCK CA from these quotes' PCK certificates; each distinct "
                               "FMSPC is fetched once")
                 ->type_name("FILE");
  fm->excludes(qf);
  add_choice(fetch, "--ca", args->ca, {"platform", "processor"}, "PCK CA of the PCK CRL (default platform, or from --quote)");
  fetch->add_flag("--sgx", args->sgx, "Fetch SGX (not TDX) TCB info and QE identity");
  fetch->add_option("--cache", args->cache, "Cache directory (default /var/cache/tdxctl/collateral)")->type_name("DIR");
  fetch->add_option("--cacert", args->cacert, "CA bundle to trust for the PCCS's TLS certificate")->type_name("FILE");
  fetch->add_option("--header", args->headers, "Extra request header 'Name: value' (repeatable)");
  fetch->footer("Examples:\n  tdxctl collateral fetch --pcs --quote quote.bin\n"
                "  tdxctl collateral fetch --pcs --quotes fleet/*.quote\n"
                "  tdxctl collateral fetch --pccs https://localhost:8081 --fmspc B0C06F000000 --cacert pccs.pem\n"
                "  tdxctl quote verify quote.bin --collateral /var/cache/tdxctl/collateral/B0C06F000000");
  fetch->callback([args, &ctx] {
    if (args->pccs.empty() && !args->pcs)
      throw core::Failure(core::Category::usage, "collateral.no_source", "give --pccs URL or --pcs");
    quote::CollateralRequest req;
    req.pcs = args->pcs;
    req.base_url = args->pcs ? quote::intel_pcs_url : args->pccs;
    req.http.cacert = args->cacert;
    req.http.headers = args->headers;
    // One request per platform: a fleet's quotes share a few FMSPCs.
    std::map<std::string, quote::CollateralKey> keys;
    std::map<std::string, std::vector<std::string>> quotes_of;
    for (const auto& file : args->quote_files) {
      auto content = core::value_or_throw(core::read_file(file));
      auto bytes = core::value_or_throw(quote::decode_quote_input(content, quote::InputFormat::automatic));
      auto key = core::value_or_throw(quote::collateral_key(core::value_or_throw(quote::parse_quote(bytes)), file));
      keys.emplace(key.cache_name(), key);
      quotes_of[key.cache_name()].push_back(file);
    }
    if (!args->fmspc.empty()) {
      quote::CollateralKey key;
      auto b = core::from_hex(args->fmspc, "--fmspc");
      if (!b || b->size() != 6)
        throw core::Failure(core::Category::usage, "collateral.bad_fmspc",
                            fmt::format("--fmspc must be 12 hex digits, got '{}'", args->fmspc));
      std::copy(b->begin(), b->end(), key.fmspc.begin());
      key.tdx = !args->sgx;
      keys.emplace(key.cache_name(), key);
    }
    if (keys.empty())
      throw core::Failure(core::Category::usage, "collateral.no_fmspc", "give --fmspc HEX or --quote FILE...");
    std::filesystem::path cache = args->cache.empty() ? ctx.root().path(quote::default_collateral_cache)
                                                      : std::filesystem::path(args->cache);
    // Everything is fetched before anything is stored: one unreachable
    // platform leaves the cache as it was.
    std::vector<quote::CollateralFiles> sets;
    sets.reserve(keys.size()); // the plan's steps point into these
    core::Plan plan;
    auto list = core::Json::array();
    for (const auto& [name, key] : keys) {
      req.fmspc = key.fmspc;
      req.ca = args->ca.empty() ? key.ca : args->ca;
      req.tdx = key.tdx;
      sets.push_back(core::value_or_throw(quote::fetch_collateral(req)));
      auto store = quote::plan_store_collateral(cache, name, sets.back());
      for (const auto& step : store.steps()) plan.add(step);
      list.push_back(core::Json{{"fmspc", name}, {"directory", (cache / name).string()},
                                {"set", quote::collateral_set_hash(sets.back())}, {"quotes", quotes_of[name]}});
    }
    core::Json extra{{"sets", list}};
    if (list.size() == 1)
      for (const char* k : {"fmspc", "directory", "set"}) extra[k] = list[0][k];
    ctx.run_plan(plan, "tdxctl.collateral.fetch/1", extra);
  });
}

} // namespace tdx::cmd
