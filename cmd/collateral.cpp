// tdxctl collateral: Intel PCS/PCCS collateral: fetch into the local cache
#include "context.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/quote/collateral_fetch.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/quote.hpp"

#include <fmt/format.h>

namespace tdx::cmd {

void add_collateral(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("collateral", "Intel PCS/PCCS collateral: fetch into the local cache");
  group->require_subcommand(1);
  struct Args {
    std::string pccs, fmspc, quote_file, cache, cacert, ca;
    std::vector<std::string> headers;
    bool pcs = false;
    bool sgx = false;
  };
  auto args = std::make_shared<Args>();
  auto* fetch = group->add_subcommand("fetch", "Fetch collateral for an FMSPC into the cache (content-addressed, atomic)");
  auto* pccs = fetch->add_option("--pccs", args->pccs, "PCCS base URL, e.g. https://pccs.example:8081")->type_name("URL");
  auto* pcs = fetch->add_flag("--pcs", args->pcs, "Use Intel PCS (api.trustedservices.intel.com)");
  pccs->excludes(pcs);
  auto* fm = fetch->add_option("--fmspc", args->fmspc, "Platform FMSPC (12 hex digits)")->type_name("HEX");
  auto* qf = fetch->add_option("--quote", args->quote_file, "Take FMSPC and PCK CA from this quote's PCK certificate")
                 ->type_name("FILE");
  fm->excludes(qf);
  add_choice(fetch, "--ca", args->ca, {"platform", "processor"}, "PCK CA of the PCK CRL (default platform, or from --quote)");
  fetch->add_flag("--sgx", args->sgx, "Fetch SGX (not TDX) TCB info and QE identity");
  fetch->add_option("--cache", args->cache, "Cache directory (default /var/cache/tdxctl/collateral)")->type_name("DIR");
  fetch->add_option("--cacert", args->cacert, "CA bundle to trust for the PCCS's TLS certificate")->type_name("FILE");
  fetch->add_option("--header", args->headers, "Extra request header 'Name: value' (repeatable)");
  fetch->footer("Examples:\n  tdxctl collateral fetch --pcs --quote quote.bin\n"
                "  tdxctl collateral fetch --pccs https://localhost:8081 --fmspc B0C06F000000 --cacert pccs.pem\n"
                "  tdxctl quote verify quote.bin --collateral /var/cache/tdxctl/collateral/B0C06F000000");
  fetch->callback([args, &ctx] {
    if (args->pccs.empty() && !args->pcs)
      throw core::Failure(core::Category::usage, "collateral.no_source", "give --pccs URL or --pcs");
    quote::CollateralRequest req;
    req.pcs = args->pcs;
    req.base_url = args->pcs ? quote::intel_pcs_url : args->pccs;
    req.tdx = !args->sgx;
    req.http.cacert = args->cacert;
    req.http.headers = args->headers;
    if (!args->quote_file.empty()) {
      auto content = core::value_or_throw(core::read_file(args->quote_file));
      auto bytes = core::value_or_throw(quote::decode_quote_input(content, quote::InputFormat::automatic));
      auto q = core::value_or_throw(quote::parse_quote(bytes));
      auto chain = core::value_or_throw(quote::load_pem_chain(q.cert_data, args->quote_file + ": PCK chain"));
      auto info = core::value_or_throw(quote::read_pck_info(chain.front().get()));
      req.fmspc = info.fmspc;
      req.ca = info.ca;
      req.tdx = q.is_tdx();
    } else if (!args->fmspc.empty()) {
      auto b = core::from_hex(args->fmspc, "--fmspc");
      if (!b || b->size() != 6)
        throw core::Failure(core::Category::usage, "collateral.bad_fmspc",
                            fmt::format("--fmspc must be 12 hex digits, got '{}'", args->fmspc));
      std::copy(b->begin(), b->end(), req.fmspc.begin());
    } else {
      throw core::Failure(core::Category::usage, "collateral.no_fmspc", "give --fmspc HEX or --quote FILE");
    }
    if (!args->ca.empty()) req.ca = args->ca;
    auto files = core::value_or_throw(quote::fetch_collateral(req));
    std::filesystem::path cache = args->cache.empty() ? ctx.root().path("/var/cache/tdxctl/collateral")
                                                      : std::filesystem::path(args->cache);
    std::string name = core::to_hex(req.fmspc);
    for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!req.tdx) name += "-sgx";
    auto plan = quote::plan_store_collateral(cache, name, files);
    ctx.run_plan(plan, "tdxctl.collateral.fetch/1",
                 core::Json{{"fmspc", name}, {"directory", (cache / name).string()},
                            {"set", quote::collateral_set_hash(files)}});
  });
}

} // namespace tdx::cmd
