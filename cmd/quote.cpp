// tdxctl quote: TDX quotes: generate in a guest, fetch from a guest, show and verify
#include "context.hpp"

#include "tdxctl/attest/fresh_quote.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/random.hpp"
#include "tdxctl/core/stdin_buffer.hpp"
#include "tdxctl/measure/event_log.hpp"
#include "tdxctl/measure/log_policy.hpp"
#include "tdxctl/policy/policy_file.hpp"
#include "tdxctl/quote/batch.hpp"
#include "tdxctl/quote/binding.hpp"
#include "tdxctl/quote/channel.hpp"
#include "tdxctl/quote/crypto.hpp"
#include "tdxctl/quote/generate.hpp"
#include "tdxctl/quote/policy.hpp"
#include "tdxctl/quote/service_fetch.hpp"
#include "tdxctl/quote/quote.hpp"
#include "tdxctl/quote/quote_description.hpp"
#include "tdxctl/quote/verify.hpp"
#include "tdxctl/quote/verify_settings.hpp"
#include "tdxctl/td/vsock.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <csignal>
#include <deque>
#include <optional>
#include <iostream>
#include <iterator>

namespace tdx::cmd {
namespace {

std::string read_input(const std::string& file) {
  if (file == "-") return std::string(core::value_or_throw(core::StdinBuffer::read()).view());
  return core::value_or_throw(core::read_file(file));
}


void add_show(CLI::App* group, Context& ctx) {
  struct Args {
    std::string file;
    std::string format = "auto";
  };
  auto args = std::make_shared<Args>();
  auto* show = group->add_subcommand("show", "Decode a quote (binary, base64 or hex) field by field");
  show->add_option("FILE", args->file, "Quote file, or - for stdin")->required();
  add_choice(show, "--format", args->format, {"auto", "binary", "base64", "hex"},
             "Input encoding (default: detected)");
  show->footer("Examples:\n  tdxctl quote show quote.bin\n  tdxctl quote show - -o json < quote.b64");
  show->callback([args, &ctx] {
    auto format = core::value_or_throw(quote::parse_input_format(args->format));
    auto bytes = core::value_or_throw(quote::decode_quote_input(read_input(args->file), format));
    auto q = core::value_or_throw(quote::parse_quote(bytes));
    auto shown = quote::describe_quote(std::move(q));
    ctx.out().emit("tdxctl.quote.show/1", shown.to_json(), [&](std::ostream& os) { shown.print(os); });
  });
}

void add_verify(CLI::App* group, Context& ctx) {
  struct Args {
    std::vector<std::string> files;
    quote::VerifySettings settings;
    std::string nonce, user_data, report_data, event_log;
    std::string format = "auto";
    bool jsonl_stdin = false, json_array = false;
    unsigned jobs = 0;
  };
  auto args = std::make_shared<Args>();
  auto* verify = group->add_subcommand(
      "verify", "Verify quotes with Intel DCAP collateral and a policy (exit 0 only when every "
                "quote verifies and is accepted)");
  verify->add_option("FILE", args->files, "Quote files (- for stdin); several are verified in parallel");
  verify->add_flag("--jsonl", args->jsonl_stdin,
                   "Read a JSON-lines stream of quotes from stdin (base64 strings or "
                   "{\"name\",\"quote\"} objects)");
  verify->add_option("--collateral", args->settings.collateral,
                     "Collateral: one set's directory, or the cache of `collateral fetch` (each quote "
                     "then uses its FMSPC's set)")
      ->required()->type_name("DIR");
  verify->add_option("--at", args->settings.at, "Verification time (RFC 3339 UTC or Unix seconds; default now)")
      ->type_name("TIME");
  add_accept_option(verify, args->settings.accept);
  verify->add_option("--policy", args->settings.policy, "Appraisal policy (policy.yaml)")->type_name("FILE");
  verify->add_option("--nonce", args->nonce, "Expect REPORTDATA = SHA-512(nonce || user data)")
      ->type_name("HEX");
  verify->add_option("--user-data", args->user_data, "User data appended to the nonce")->type_name("HEX");
  verify->add_option("--report-data", args->report_data, "Expect this exact REPORTDATA (128 hex digits)")
      ->type_name("HEX");
  verify->add_option("--event-log", args->event_log,
                     "The TD's CC event log: its replayed RTMRs must equal the quote's")
      ->type_name("FILE")->check(CLI::ExistingFile);
  verify->add_flag("--allow-debug", args->settings.allow_debug, "Accept a TD with TDATTRIBUTES.DEBUG set");
  verify->add_option("--trust-root", args->settings.trust_root,
                     "Pin this root CA instead of Intel's (test CAs only)")->type_name("FILE");
  verify->add_flag("--allow-expired-collateral", args->settings.allow_expired_collateral,
                   "Report expired collateral (collateral_expired) instead of failing");
  add_choice(verify, "--format", args->format, {"auto", "binary", "base64", "hex"},
             "Input encoding (default: detected)");
  verify->add_option("-j,--jobs", args->jobs, "Worker threads for many quotes (default: all cores)");
  verify->add_flag("--cold", args->settings.cold, "Re-verify collateral and PCK chains for every quote");
  verify->add_flag("--json-array", args->json_array,
                   "One JSON array of per-quote reports, for one quote or many (implies -o json; "
                   "default for several quotes: JSON lines)");
  verify->footer("Examples:\n  tdxctl quote verify quote.bin --collateral /var/cache/tdxctl/collateral/B0C06F000000\n"
                 "  tdxctl quote verify fleet/*.quote --collateral /var/cache/tdxctl/collateral --json-array\n"
                 "  tdxctl quote verify q1.bin q2.bin --collateral DIR --at 2025-06-25T00:00:00Z -o json\n"
                 "  tdxctl quote verify quote.bin --collateral DIR --policy policy.yaml --nonce HEX\n"
                 "  tdxctl quote verify quote.bin --collateral DIR --event-log CCEL");
  verify->callback([args, &ctx] {
    if (args->json_array) ctx.opts.output = "json";
    if (args->files.empty() && !args->jsonl_stdin)
      throw core::Failure(core::Category::usage, "quote.no_input", "no quote given",
                          "pass quote files, - for stdin, or --jsonl");
    if (std::ranges::count(args->files, std::string("-")) + (args->jsonl_stdin ? 1 : 0) +
            (args->event_log == "-" ? 1 : 0) >
        1)
      throw core::Failure(core::Category::usage, "quote.stdin_twice", "standard input can be read only once",
                          "pass - once: as a quote file, with --jsonl, or as --event-log");
    auto policy = policy::appraisal_policy(args->settings);
    if (!args->nonce.empty()) {
      auto nonce = hex_arg(args->nonce, "--nonce", 0);
      auto user = args->user_data.empty() ? core::Bytes{} : hex_arg(args->user_data, "--user-data", 0);
      policy.report_data = quote::nonce_report_data(nonce, user);
    }
    if (!args->report_data.empty()) {
      auto rd = hex_arg(args->report_data, "--report-data", 64);
      quote::Blob<64> b;
      std::copy(rd.begin(), rd.end(), b.begin());
      policy.report_data = b;
    }
    if (!args->event_log.empty()) {
      if (args->files.size() != 1 || args->jsonl_stdin)
        throw core::Failure(core::Category::usage, "quote.event_log.one_quote",
                            "--event-log checks one TD's quote; pass exactly one quote file");
      auto bytes = read_input(args->event_log);
      auto log = core::value_or_throw(measure::parse_event_log(core::as_bytes(bytes), args->event_log));
      core::value_or_throw(measure::pin_replayed_rtmrs(policy, log, args->event_log));
    }
    auto verifiers = core::value_or_throw(quote::make_verifier(args->settings));
    std::string verify_time = quote::format_time(verifiers->options().at);
    auto format = core::value_or_throw(quote::parse_input_format(args->format));

    // One file named alone: its report is the whole document (with errors
    // as exit codes); anything else is a batch, streamed in input order.
    bool single = args->files.size() == 1 && !args->jsonl_stdin && !args->json_array;
    if (single) {
      auto report = quote::verify_input(*verifiers, policy, {args->files[0], read_input(args->files[0])}, format);
      if (report.input_error) throw core::Failure(*report.input_error);
      auto doc = report.to_json();
      doc["verify_time"] = verify_time;
      ctx.out().emit("tdxctl.quote.verify/1", doc, [&](std::ostream& os) { report.print(os); });
      if (!report.accepted())
        throw core::Failure(core::Error{
            core::Category::failed, report.verdict.verified ? "quote.rejected" : "quote.verification_failed",
            fmt::format("quote {}: {}", report.name,
                        report.verdict.verified ? "rejected by policy" : "verification failed"),
            "", true});
      return;
    }
    // The names move: with thousands of files every copy is fresh heap pages.
    // Standard input (a "-" file or the --jsonl stream) stays in its buffer,
    // which the inputs view.
    std::optional<core::StdinBuffer> stdin_text;
    auto read_stdin = [&] { return stdin_text.emplace(core::value_or_throw(core::StdinBuffer::read())).view(); };
    std::deque<std::string> unescaped;
    std::vector<quote::VerifyInput> inputs;
    inputs.reserve(args->files.size());
    for (auto& f : args->files)
      inputs.push_back(f == "-" ? quote::VerifyInput{f, read_stdin()} : quote::VerifyInput{std::move(f), {}, true});
    if (args->jsonl_stdin) {
      auto more = core::value_or_throw(quote::read_jsonl_inputs(read_stdin(), "stdin", unescaped));
      inputs.insert(inputs.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    // Each quote a self-contained document: as JSON lines (a stream a
    // consumer can read as it comes), or all in one array (--json-array:
    // one parse for any number of quotes, as Ansible's from_json needs).
    bool json = ctx.out().json(), array = args->json_array;
    quote::ReportRenderer render = [&](size_t index, const quote::VerifyReport& r, std::string& out) {
      if (!json) return quote::append_report_text(r, out);
      if (array) out += index == 0 ? "[\n" : ",\n";
      quote::append_report_json(r, verify_time, array ? 2 : -1, out);
      if (!array) out += '\n';
    };
    quote::OutputSink sink = [](std::string_view chunk) {
      std::cout.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    };
    auto counts = quote::verify_stream(*verifiers, policy, inputs, format, args->jobs, render, sink);
    if (array) std::cout << (counts.total == 0 ? "[]\n" : "\n]\n");
    if (!json) std::cout << counts.accepted << " of " << counts.total << " quotes accepted\n";
    std::cout.flush();
    if (counts.accepted != counts.total) {
      // Not a verdict when no quote could be checked: bad input (2), or no collateral (3).
      auto category = counts.invalid == counts.total         ? core::Category::invalid_input
                      : counts.no_collateral == counts.total ? core::Category::not_ready
                                                             : core::Category::failed;
      throw core::Failure(core::Error{category, "quote.some_rejected",
                                      fmt::format("{} of {} quotes not accepted", counts.total - counts.accepted,
                                                  counts.total),
                                      "", true});
    }
  });
}

void add_fetch(CLI::App* group, Context& ctx) {
  struct Args {
    std::string unix_path, vsock, nonce, out;
    std::string from, gpu_ids, cacert, cert, key, td;
    uint32_t port = attest::k_quote_port;
    quote::VerifySettings settings;
    std::vector<std::string> headers;
    bool verify = false, force = false;
  };
  auto args = std::make_shared<Args>();
  auto* fetch = group->add_subcommand("fetch", "Fetch a fresh quote from a running TD, bound to a nonce");
  auto* vs = fetch->add_option("--vsock", args->vsock, "Guest `quote serve` at CID:PORT")->type_name("CID:PORT");
  auto* ux = fetch->add_option("--unix", args->unix_path, "Guest `quote serve` at a UNIX socket")->type_name("PATH");
  vs->excludes(ux);
  auto* td = fetch->add_option("--td", args->td, "Libvirt domain running `quote serve` (CID from its vsock device)")
                 ->type_name("NAME");
  td->excludes(vs);
  td->excludes(ux);
  fetch->add_option("--port", args->port, "With --td: the guest's quote serve port (default 4050)");
  auto* from = fetch->add_option("--from", args->from, "HTTPS guest attestation service base URL")->type_name("URL");
  from->excludes(vs);
  from->excludes(td);
  from->excludes(ux);
  fetch->add_option("--gpu-ids", args->gpu_ids, "With --from: ask /attest for GPU evidence too")->type_name("IDS");
  fetch->add_option("--header", args->headers, "With --from: extra request header 'Name: value' (repeatable)");
  fetch->add_option("--cacert", args->cacert, "With --from: CA bundle for the service's certificate")->type_name("FILE");
  fetch->add_option("--cert", args->cert, "With --from: client certificate (mTLS)")->type_name("FILE");
  fetch->add_option("--key", args->key, "With --from: client key (mTLS)")->type_name("FILE");
  fetch->add_option("--nonce", args->nonce, "32-byte nonce, exactly 64 hex digits (default: random)")->type_name("HEX");
  fetch->add_option("--out", args->out, "Save the quote here, only once every check passed")->required()->type_name("FILE");
  fetch->add_flag("--force", args->force, "Replace an existing --out file");
  fetch->add_flag("--verify", args->verify, "Also verify the quote with DCAP collateral (the nonce binding is always checked)");
  fetch->add_option("--collateral", args->settings.collateral,
                    "Collateral for --verify: one set's directory, or the cache of `collateral fetch`")
      ->type_name("DIR");
  fetch->add_option("--at", args->settings.at, "Verification time (default now)")->type_name("TIME");
  fetch->add_option("--policy", args->settings.policy, "Appraisal policy (policy.yaml)")->type_name("FILE");
  add_accept_option(fetch, args->settings.accept);
  fetch->add_flag("--allow-debug", args->settings.allow_debug, "Accept a debug TD");
  fetch->add_option("--trust-root", args->settings.trust_root, "Pin this root CA instead of Intel's (tests)")->type_name("FILE");
  fetch->footer("Examples:\n  tdxctl quote fetch --vsock 3:4050 --out td.quote --verify --collateral DIR");
  fetch->callback([args, &ctx] {
    if (args->unix_path.empty() && args->vsock.empty() && args->from.empty() && args->td.empty())
      throw core::Failure(core::Category::usage, "quote.no_channel",
                          "give --td NAME, --vsock CID:PORT, --unix PATH or --from URL");
    if (!args->td.empty())
      args->vsock = fmt::format("{}:{}", core::value_or_throw(td::vsock_cid(ctx.connect_uri(), args->td)),
                                args->port);
    if (args->verify && args->settings.collateral.empty())
      throw core::Failure(core::Category::usage, "quote.no_collateral", "--verify needs --collateral DIR");
    std::array<uint8_t, 32> nonce{};
    if (args->nonce.empty()) {
      nonce = core::value_or_throw(core::random_nonce());
    } else {
      auto n = hex_arg(args->nonce, "--nonce", 32);
      std::copy(n.begin(), n.end(), nonce.begin());
    }
    quote::Blob<64> expected_rd = quote::fetch_report_data(nonce);
    core::Bytes bytes;
    std::optional<std::string> gpu_evidence;
    quote::Socket conn;
    if (!args->from.empty()) {
      quote::HttpOptions http{args->headers, args->cacert, args->cert, args->key};
      auto ev = core::value_or_throw(quote::fetch_from_service(args->from, nonce, args->gpu_ids, http));
      bytes = std::move(ev.quote);
      gpu_evidence = std::move(ev.gpu_evidence);
      expected_rd = quote::service_report_data(nonce, ev.peer_spki);
    } else if (!args->unix_path.empty()) conn = core::value_or_throw(quote::connect_unix(args->unix_path));
    else {
      auto colon = args->vsock.find(':');
      uint32_t cid = 0, port = 0;
      if (colon == std::string::npos || std::sscanf(args->vsock.c_str(), "%u:%u", &cid, &port) != 2)
        throw core::Failure(core::Category::usage, "quote.bad_vsock", "--vsock must be CID:PORT, e.g. 3:4050");
      conn = core::value_or_throw(quote::connect_vsock(cid, port));
    }
    if (args->from.empty()) bytes = core::value_or_throw(quote::request_quote(conn, nonce));
    // Evidence first, files last: an unbound or rejected quote is never saved.
    core::value_or_throw(quote::check_report_data_binding(bytes, expected_rd));
    core::Json doc{{"file", args->out}, {"size", bytes.size()}, {"nonce", core::to_hex(nonce)},
                   {"expected_report_data", core::to_hex(expected_rd)}, {"saved", false}};
    auto save = [&] {
      auto force = args->force ? core::Force::yes : core::Force::no;
      if (gpu_evidence) {
        std::string gpu_file = args->out + ".gpu.json";
        core::write_file_atomic(gpu_file, *gpu_evidence, 0644, force);
        doc["gpu_evidence_file"] = gpu_file;
      }
      core::write_file_atomic(args->out, {reinterpret_cast<const char*>(bytes.data()), bytes.size()}, 0644, force);
      doc["saved"] = true;
    };
    auto saved_line = [&](std::ostream& os) {
      os << (doc["saved"].get<bool>() ? "saved " : "not saved: ") << bytes.size() << "-byte quote"
         << (doc["saved"].get<bool>() ? " to " + args->out : std::string()) << " (nonce " << core::to_hex(nonce)
         << ", REPORTDATA bound)\n";
    };
    if (!args->verify) {
      save();
      ctx.out().emit("tdxctl.quote.fetch/1", doc, saved_line);
      return;
    }
    auto policy = policy::appraisal_policy(args->settings);
    policy.report_data = expected_rd;
    auto verifiers = core::value_or_throw(quote::make_verifier(args->settings));
    auto report = quote::verify_input(*verifiers, policy, {args->out, std::string(bytes.begin(), bytes.end())},
                                      quote::InputFormat::binary);
    if (report.accepted()) save();
    doc["verification"] = report.to_json();
    ctx.out().emit("tdxctl.quote.fetch/1", doc, [&](std::ostream& os) {
      saved_line(os);
      report.print(os);
    });
    if (!report.accepted())
      throw core::Failure(core::Error{report.input_error ? report.input_error->category : core::Category::failed,
                                      "quote.rejected", "the fetched quote was not accepted; nothing was saved", "",
                                      true});
  });
}

} // namespace

// --accept takes TCB status names only: a typo or "any" would otherwise
// reject every quote "by policy".
void add_accept_option(CLI::App* cmd, std::vector<std::string>& accept) {
  cmd->add_option("--accept", accept,
                  fmt::format("Acceptable TCB statuses, comma-separated (default UpToDate): {}",
                              fmt::join(quote::tcb_status_names(), ", ")))
      ->delimiter(',')
      ->type_name("STATUS")
      ->check(CLI::Validator([](std::string& s) { return quote::unknown_tcb_status({s}); }, "STATUS"));
}

void add_quote(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("quote", "TDX quotes: generate in a guest, fetch from a guest, show and verify");
  group->require_subcommand(1);
  add_show(group, ctx);
  add_verify(group, ctx);
  add_quote_eventlog(group, ctx);
  add_quote_generate(group, ctx);
  add_fetch(group, ctx);
  add_quote_serve(group, ctx);
}

} // namespace tdx::cmd
