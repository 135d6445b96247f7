// tdxctl quote generate: a quote (configfs-tsm) or TD report inside a TD.
// Its own file because tdxctl-guest shares it without the host-only verbs.
#include "context.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/quote/generate.hpp"

namespace tdx::cmd {

void add_quote_generate(CLI::App* group, Context& ctx) {
  struct Args {
    std::string report_data, out, entry;
    bool force = false;
    bool td_report = false;
  };
  auto args = std::make_shared<Args>();
  auto* gen = group->add_subcommand("generate", "Generate a quote inside a TD (configfs-tsm)");
  gen->add_option("--report-data", args->report_data, "REPORTDATA: exactly 128 hex digits (64 bytes)")
      ->required()->type_name("HEX");
  gen->add_option("--out", args->out, "Write the quote here (default: stdout, base64)")->type_name("FILE");
  gen->add_flag("--force", args->force, "Replace an existing --out file");
  gen->add_option("--tsm-entry", args->entry,
                  "Use this configfs-tsm report entry (created if absent) instead of a private one")
      ->type_name("NAME");
  gen->add_flag("--td-report", args->td_report,
                "Get a TD report (TDX_CMD_GET_REPORT0 on /dev/tdx_guest) instead of a quote");
  gen->footer("Examples:\n  tdxctl quote generate --report-data $(openssl rand -hex 64) --out quote.bin");
  gen->callback([args, &ctx] {
    auto rd = hex_arg(args->report_data, "--report-data", 64);
    std::span<const uint8_t, 64> span(rd.data(), 64);
    auto bytes = args->td_report ? core::value_or_throw(quote::get_td_report(ctx.root(), span))
                                 : core::value_or_throw(quote::generate_quote(ctx.root(), span, args->entry));
    if (!args->out.empty())
      core::write_file_atomic(args->out, {reinterpret_cast<const char*>(bytes.data()), bytes.size()}, 0644,
                              args->force ? core::Force::yes : core::Force::no);
    core::Json doc{{"kind", args->td_report ? "td_report" : "quote"}, {"size", bytes.size()}};
    if (args->out.empty()) doc["base64"] = core::base64_encode(bytes);
    else doc["file"] = args->out;
    ctx.out().emit("tdxctl.quote.generate/1", doc, [&](std::ostream& os) {
      if (args->out.empty()) os << core::base64_encode(bytes) << "\n";
      else os << "wrote " << bytes.size() << "-byte " << (args->td_report ? "TD report" : "quote") << " to " << args->out << "\n";
    });
  });
}
} // namespace tdx::cmd
