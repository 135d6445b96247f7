// tdxctl quote serve: answer quote requests inside a TD (vsock or UNIX socket).
// Its own file because tdxctl-guest shares it without the host-only verbs.
#include "context.hpp"

#include "tdxctl/quote/channel.hpp"

namespace tdx::cmd {

void add_quote_serve(CLI::App* group, Context& ctx) {
  struct Args {
    std::string unix_path, entry;
    uint32_t vsock_port = 0;
    double rate = 2.0;
    size_t count = 0;
  };
  auto args = std::make_shared<Args>();
  auto* serve = group->add_subcommand(
      "serve", "Answer quote requests inside a TD (nonce -> quote with REPORTDATA = "
               "SHA-512(nonce || \"tdxctl-fetch\")), one at a time, rate-limited");
  auto* vs = serve->add_option("--vsock", args->vsock_port, "Listen on this AF_VSOCK port")->type_name("PORT");
  auto* ux = serve->add_option("--unix", args->unix_path, "Listen on this UNIX socket")->type_name("PATH");
  vs->excludes(ux);
  serve->add_option("--rate", args->rate, "Most requests per second answered (default 2)");
  serve->add_option("--count", args->count, "Exit after answering this many requests (default: run until stopped)");
  serve->add_option("--tsm-entry", args->entry, "configfs-tsm report entry to use (default: private per request)")
      ->type_name("NAME");
  serve->footer("Examples:\n  tdxctl quote serve --vsock 4050\n  systemctl enable --now tdxctl-quote-serve.service");
  serve->callback([args, &ctx] {
    if (args->unix_path.empty() && args->vsock_port == 0)
      throw core::Failure(core::Category::usage, "quote.no_listener", "give --vsock PORT or --unix PATH");
    auto listener = core::value_or_throw(args->unix_path.empty() ? quote::listen_vsock(args->vsock_port)
                                                                 : quote::listen_unix(args->unix_path));
    quote::ServeOptions options;
    options.max_per_second = args->rate;
    options.max_requests = args->count;
    options.tsm_entry = args->entry;
    core::value_or_throw(quote::serve_quotes(listener, ctx.root(), options));
    ctx.out().emit("tdxctl.quote.serve/1", core::Json{{"answered", args->count}},
                   [&](std::ostream& os) { os << "served " << args->count << " requests\n"; });
  });
}

} // namespace tdx::cmd
