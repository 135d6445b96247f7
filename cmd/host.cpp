// tdxctl host: readiness of this host for TDs.
#include "context.hpp"

#include "tdxctl/host/check.hpp"
#include "tdxctl/host/qgs_address.hpp"
#include "tdxctl/quote/batch.hpp"

namespace tdx::cmd {

void add_host(CLI::App& app, Context& ctx) {
  auto* host = app.add_subcommand("host", "Check that this host is ready to run TDs");
  host->require_subcommand(1);

  struct Args {
    host::CheckOptions options;
    std::string at;
    bool no_libvirt = false;
  };
  auto args = std::make_shared<Args>();
  auto* check = host->add_subcommand(
      "check", "Check CPU, kernel, TDX module, TD capacity, QGS, IOMMU, vfio, vsock, firmware, "
               "libvirt, GPUs and attestation collateral; exit 3 if a required check fails");
  check->add_option("--qgs-socket", args->options.qgs_socket,
                    "Quote generation service socket: PATH or unix:PATH (default "
                    "/var/run/tdx-qgs/qgs.socket); vsock forms have no libvirt form (exit 2)")
      ->type_name("PATH")
      ->transform(CLI::Validator(
          [](std::string& value) {
            auto path = host::parse_qgs_address(value, "--qgs-socket");
            if (!path) return path.error().message;
            value = *path;
            return std::string();
          },
          "PATH"));
  check->add_flag("--require-attestation", args->options.require_attestation,
                  "Fail (not warn) when the QGS socket is missing");
  check->add_option("--firmware", args->options.firmware,
                    "TDVF firmware path to look for (repeatable; default: the usual OVMF "
                    "locations)")
      ->type_name("PATH");
  check->add_flag("--no-libvirt", args->no_libvirt, "Do not connect to libvirt");
  check->add_option("--collateral-cache", args->options.collateral_cache,
                    "Collateral cache to report on (default /var/cache/tdxctl/collateral under --root)")
      ->type_name("DIR");
  check->add_option("--pccs", args->options.pccs_url,
                    "PCCS/PCS base URL to probe (default: pccs_url of /etc/sgx_default_qcnl.conf; "
                    "neither: not probed)")
      ->type_name("URL");
  check->add_option("--pccs-cacert", args->options.pccs_cacert, "CA bundle to trust for the PCCS's TLS certificate")
      ->type_name("FILE");
  check->add_option("--at", args->at, "Judge collateral expiry at this time (RFC 3339 UTC or Unix seconds; default now)")
      ->type_name("TIME");
  check->footer("Examples:\n  tdxctl host check\n  tdxctl host check --require-attestation "
                "-o json\n  tdxctl --root /tmp/capture host check --no-libvirt");
  check->callback([args, &ctx] {
    auto options = args->options;
    if (!args->at.empty()) options.at = core::value_or_throw(quote::parse_verify_time(args->at));
    if (!args->no_libvirt) options.libvirt = host::probe_libvirt(ctx.connect_uri());
    auto report = host::run_host_checks(ctx.root(), options);
    ctx.out().emit("tdxctl.host.check/1", report.to_json(),
                   [&](std::ostream& os) { report.print(os); });
    if (!report.ready())
      throw core::Failure(core::Error{core::Category::not_ready, "host.not_ready",
                                      "host is not ready for TDs",
                                      "fix the failed checks and re-run", true});
  });
}

} // namespace tdx::cmd
