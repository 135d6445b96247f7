// tdxctl keys: the key-release service (the server side of `tdxctl unlock`)
// and its store of VMs, keys and policies.
#include "context.hpp"

#include "tdxctl/core/secret.hpp"
#include "tdxctl/keys/key_store.hpp"
#include "tdxctl/keys/serve_marker.hpp"
#include "tdxctl/keys/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <unistd.h>

namespace tdx::cmd {
namespace {

constexpr const char* k_man_sections = R"(.SH SERVICE
\fBkeys serve\fR is the server side of \fBtdxctl unlock\fR (see \fBtdxctl\-unlock\fR(1),
PROTOCOL). It listens on HTTPS with its own certificate (\fB\-\-cert\fR, \fB\-\-key\fR);
images point at it with \fBunlock.nonce_endpoint: https://HOST:PORT/nonce\fR and
\fBunlock.attestation_endpoint: https://HOST:PORT/attest\fR, and pin its CA with
\fBunlock.ca_cert\fR. TLS asks every client for a certificate and accepts any: the
guest's is self\-signed and made for one boot, and it counts only through the quote.
.TP
\fBGET /nonce\fR
\fB{"nonce": "<64 hex>", "expires": "<RFC 3339>"}\fR: a fresh random nonce, good for one
attestation within \fB\-\-nonce\-ttl\fR seconds. At most \fB\-\-max\-nonces\fR are held;
expired ones are dropped and, when full, the oldest is forgotten.
.TP
\fBPOST /attest\fR
Header \fBX\-Chutes\-Nonce\fR, body \fB{"quote": "<base64>", "vm_name", "miner_hotkey"}\fR.
The checks run in this order and the first failure decides:
the client is within its rate (else 429); the body is well formed (else 400);
the nonce was issued by this process, has not expired and was not used (it is
consumed either way; else 403); the VM is registered (else 404); REPORTDATA equals
nonce || SHA\-256 of the DER SubjectPublicKeyInfo of the client certificate \fIon
this TLS connection\fR (else 403: a replayed or relayed quote); the quote verifies with
tdxctl's DCAP verifier (as \fBtdxctl quote verify\fR) against the collateral in
\fB\-\-collateral\fR at the current time (else 403); the VM's policy passes: accepted
TCB statuses, MRTD, RTMRs, MRCONFIGID, attributes and SVNs as \fBtdxctl\-policy\fR(1)
describes (else 403). Then the answer is 200
\fB{"key": "...", "containerd_key": "..."}\fR (containerd_key only when registered).
The reason for a refusal goes to the log, never to the client.
.PP
\fB\-\-collateral\fR is one collateral set, or (the default) the cache
\fBtdxctl collateral fetch\fR fills, where the set is chosen by the FMSPC of the
quote's PCK certificate. It is read for every quote, so a refreshed cache takes
effect without a restart; so does \fBkeys add \-\-force\fR or \fBkeys remove\fR.
.SH LOG
One JSON object per line on standard output for every decision (nonces included):
\fBtime\fR, \fBevent\fR (keys.nonce, keys.attest), \fBclient\fR, \fBstatus\fR,
\fBdecision\fR (nonce, release, refuse, unknown_vm, rate_limited, bad_request),
\fBcheck\fR and \fBreason\fR for a refusal (rate_limit, request, nonce, vm, evidence,
binding, verification, policy, store), \fBvm\fR, \fBevidence\fR (quote or sample),
\fBtcb_status\fR, \fBcontainerd_key\fR for a release, and \fBinsecure_sample\fR on
every line. Keys never appear in it. Start\-up messages and warnings go to standard error.
.SH SAMPLE EVIDENCE
For tests without TDX hardware, modelled on Confidential Containers' sample
attester: an image built with \fBunlock.insecure_sample_evidence: true\fR, on a
machine without configfs\-tsm, posts \fB"evidence": {"type": "sample", "report_data":
"<128 hex>"}\fR instead of a quote. \fBkeys serve\fR refuses it with 403 unless it was
started with \fB\-\-insecure\-accept\-sample\fR. With the flag the binding (nonce and
client SPKI) is still checked, but there is no quote, so there is nothing to verify and
no measurement to compare: a VM whose policy pins any (MRTD, an RTMR, MRCONFIGID, an SVN
and the like) is refused with 403 for its policy, and anyone who can reach the service gets
the keys of every other registered VM. The service then says so on standard error at start,
logs \fB"insecure_sample": true\fR on every line, and \fBkeys list\fR marks the VMs
releasable on sample evidence while such a server runs (it writes \fISTORE/.serve\-PID.json\fR while it listens).
.SH STORE
\fISTORE/NAME/key\fR, \fISTORE/NAME/containerd\-key\fR (optional) and
\fISTORE/NAME/policy.yaml\fR; the store directory and each entry are 0700, the files
0600, owned by the service's user. An entry is staged in a private directory and
renamed into place whole. A store or file that group or others can access, or that
another user owns, is refused (exit 3) rather than used. Keys come from a file or
standard input, never from the command line, and must be printable ASCII without
\fB"\fR or \fB\\\fR (the image build's key file is hex).
)";

} // namespace

void add_keys(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("keys", "The key-release service (serve) and its store of VM keys and policies");
  group->require_subcommand(1);
  set_man_sections(group, k_man_sections);
  auto store = std::make_shared<std::string>();
  auto store_path = [store, &ctx] {
    return store->empty() ? ctx.root().path(keys::k_default_store) : std::filesystem::path(*store);
  };
  auto add_store = [store](CLI::App* cmd) {
    cmd->add_option("--store", *store, "Key store directory (default /var/lib/tdxctl/keys)")->type_name("DIR");
  };

  // serve
  struct ServeArgs {
    std::string listen = "0.0.0.0:8443", cert, key, collateral;
    bool insecure_sample = false;
    unsigned nonce_ttl = 120, max_nonces = 4096;
    double rate = 1.0, burst = 10;
  };
  auto sa = std::make_shared<ServeArgs>();
  auto* serve = group->add_subcommand("serve", "Serve key release over HTTPS: nonce, attestation, keys");
  serve->add_option("--listen", sa->listen, "ADDRESS:PORT to listen on (default 0.0.0.0:8443)")->type_name("ADDR:PORT");
  serve->add_option("--cert", sa->cert, "The service's TLS certificate chain (PEM)")->required()->type_name("FILE");
  serve->add_option("--key", sa->key, "The service's TLS private key (PEM)")->required()->type_name("FILE");
  add_store(serve);
  serve->add_option("--collateral", sa->collateral,
                    "Collateral set, or cache by FMSPC (default /var/cache/tdxctl/collateral)")
      ->type_name("DIR");
  serve->add_option("--nonce-ttl", sa->nonce_ttl, "Seconds a nonce stays valid (1-3600, default 120)")
      ->check(CLI::Range(1u, 3600u).description(""))->type_name("SECONDS");
  serve->add_option("--max-nonces", sa->max_nonces, "Outstanding nonces kept (1-1000000, default 4096)")
      ->check(CLI::Range(1u, 1000000u).description(""))->type_name("N");
  serve->add_option("--rate", sa->rate, "Requests per second per client address, on average (default 1)")
      ->check(CLI::Range(0.001, 1000.0).description(""))->type_name("N");
  serve->add_option("--burst", sa->burst, "Requests a client address may make at once (default 10)")
      ->check(CLI::Range(1.0, 10000.0).description(""))->type_name("N");
  serve->add_flag("--insecure-accept-sample", sa->insecure_sample,
                  "Release keys on sample evidence (no quote; refused if the VM's policy pins a measurement): "
                  "tests without TDX only");
  serve->footer("Examples:\n"
                "  tdxctl keys serve --cert /etc/tdxctl/keys/server.pem --key /etc/tdxctl/keys/server.key\n"
                "  tdxctl keys serve --listen 10.0.0.1:8443 --cert server.pem --key server.key --store ./keys "
                "--insecure-accept-sample");
  serve->callback([sa, store_path] {
    keys::ServiceOptions o;
    o.store = store_path();
    if (!sa->collateral.empty()) o.collateral = sa->collateral;
    o.insecure_accept_sample = sa->insecure_sample;
    o.nonce_ttl = std::chrono::seconds(sa->nonce_ttl);
    o.max_nonces = sa->max_nonces;
    o.rate_per_second = sa->rate;
    o.burst = sa->burst;
    auto address = core::value_or_throw(keys::parse_listen_address(sa->listen));
    // The store must be usable before the first client arrives.
    keys::KeyStore(o.store).ensure();
    keys::KeyService service(o);
    keys::KeyServer server(service, sa->cert, sa->key);
    int port = server.bind(address);
    address.port = port;
    if (o.insecure_accept_sample)
      spdlog::warn("INSECURE: --insecure-accept-sample: keys of VMs whose policy pins no measurement are released "
                   "on sample evidence, with no quote, to anyone who can reach {}; for tests without TDX only",
                   address.to_string());
    keys::ServeMarkerFile marker(o.store, {::getpid(), address.to_string(), o.insecure_accept_sample, time(nullptr)});
    spdlog::info("serving key release on https://{} (GET {}, POST {}); store {}, collateral {}", address.to_string(),
                 keys::k_nonce_path, keys::k_attest_path, o.store.string(), o.collateral.string());
    keys::serve_until_signal(server);
    spdlog::info("stopped");
  });

  // add
  struct AddArgs {
    std::string name, policy, key_file, containerd_key_file;
    bool key_stdin = false, force = false;
  };
  auto aa = std::make_shared<AddArgs>();
  auto* add = group->add_subcommand("add", "Register a VM: its keys and its policy");
  add->add_option("NAME", aa->name, "VM name (the guest's hostname)")->required();
  add->add_option("--policy", aa->policy, "The VM's policy.yaml (tdxctl-policy(1))")->required()->type_name("FILE");
  auto* kf = add->add_option("--key-file", aa->key_file, "The root key (the image build's OUTPUT.key)")->type_name("FILE");
  auto* ks = add->add_flag("--key-stdin", aa->key_stdin, "Read the root key from standard input");
  kf->excludes(ks);
  add->add_option("--containerd-key-file", aa->containerd_key_file, "The containerd volume's key (optional)")
      ->type_name("FILE");
  add->add_flag("--force", aa->force, "Replace a registration with other keys or another policy");
  add_store(add);
  add->footer("Examples:\n"
              "  tdxctl keys add tdx-vm-01 --policy policy.yaml --key-file tdx-guest.qcow2.key\n"
              "  tdxctl keys add tdx-vm-01 --policy policy.yaml --key-stdin < tdx-guest.qcow2.key\n"
              "  tdxctl -n keys add tdx-vm-01 --policy policy.yaml --key-file k --containerd-key-file ck --force");
  add->callback([aa, store_path, &ctx] {
    if (aa->key_file.empty() && !aa->key_stdin)
      throw core::Failure(core::Category::usage, "keys.no_key", "no key given",
                          "pass --key-file FILE (the image build's OUTPUT.key) or --key-stdin");
    // The name and the policy first: a typo must not cost the key piped on stdin.
    core::value_or_throw(keys::check_vm_name(aa->name));
    auto reg = std::make_shared<keys::Registration>();
    reg->name = aa->name;
    reg->policy_file = aa->policy;
    reg->policy_yaml = core::value_or_throw(core::read_file(aa->policy));
    reg->key = core::value_or_throw(core::Secret::from_file(aa->key_stdin ? "-" : aa->key_file, "root key"));
    if (!aa->containerd_key_file.empty())
      reg->containerd_key = core::value_or_throw(core::Secret::from_file(aa->containerd_key_file, "containerd key"));
    auto plan = keys::KeyStore(store_path()).plan_add(reg, aa->force ? core::Force::yes : core::Force::no);
    ctx.run_plan(plan, "tdxctl.keys.add/1", core::Json{{"name", aa->name}, {"store", store_path().string()}});
  });

  // list
  auto* list = group->add_subcommand("list", "List the registered VMs (never their keys)");
  add_store(list);
  list->footer("Examples:\n  tdxctl keys list\n  tdxctl keys list -o json");
  list->callback([store_path, &ctx] {
    auto dir = store_path();
    auto vms = keys::KeyStore(dir).list();
    auto servers = keys::running_servers(dir);
    bool sample = std::any_of(servers.begin(), servers.end(), [](const auto& s) { return s.insecure_accept_sample; });
    // What `keys serve` would do with sample evidence for this VM (a pinned value refuses it).
    auto sample_accepted = [sample](const keys::VmSummary& v) { return sample && v.pinned.empty(); };
    core::Json doc{{"store", dir.string()}, {"vms", core::Json::array()}, {"servers", core::Json::array()}};
    for (const auto& s : servers) doc["servers"].push_back(s.to_json());
    for (const auto& v : vms) {
      auto j = v.to_json();
      j["sample_evidence_accepted"] = sample_accepted(v);
      doc["vms"].push_back(j);
    }
    ctx.out().emit("tdxctl.keys.list/1", doc, [&](std::ostream& os) {
      for (const auto& s : servers)
        os << "keys serve (pid " << s.pid << ") on " << s.listen
           << (s.insecure_accept_sample ? ": INSECURE, accepts sample evidence (no quote) for VMs whose policy pins no measurement\n" : "\n");
      core::Table t({"NAME", "CONTAINERD KEY", "ACCEPT TCB", "MRTD", "RTMRS", "MRCONFIGID", "POLICY", "SAMPLE EVIDENCE"});
      for (const auto& v : vms) {
        std::string accept;
        for (const auto& a : v.accept_tcb) accept += (accept.empty() ? "" : ",") + a;
        t.row({v.name, v.containerd_key ? "yes" : "no", accept,
               v.mr_td_values ? std::to_string(v.mr_td_values) + " pinned" : "any",
               v.rtmrs_pinned ? "pinned" : "any", v.mr_config_id_pinned ? "pinned" : "any",
               v.policy_sha256.substr(0, 12),
               sample_accepted(v) ? "ACCEPTED (insecure)" : sample ? "refused (policy pins)" : "refused"});
      }
      if (vms.empty())
        os << "no VMs registered in " << dir.string() << "\n";
      else
        t.print(os);
    });
  });

  // remove
  auto rname = std::make_shared<std::string>();
  auto* remove = group->add_subcommand("remove", "Unregister a VM and delete its keys");
  remove->add_option("NAME", *rname, "VM name")->required();
  add_store(remove);
  remove->footer("Examples:\n  tdxctl keys remove tdx-vm-01\n  tdxctl -n keys remove tdx-vm-01");
  remove->callback([rname, store_path, &ctx] {
    auto plan = keys::KeyStore(store_path()).plan_remove(*rname);
    ctx.run_plan(plan, "tdxctl.keys.remove/1", core::Json{{"name", *rname}, {"store", store_path().string()}});
  });
}

} // namespace tdx::cmd
