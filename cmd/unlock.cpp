// tdxctl unlock: the attested LUKS unlock (runs in the TD's initramfs, from
// tdxctl-guest or tdxctl).
#include "context.hpp"

#include "tdxctl/unlock/unlock.hpp"

namespace tdx::cmd {
namespace {

// The protocol and files, for tdxctl-unlock(1). `tdxctl keys serve`
// (tdxctl-keys(1)) is a server that speaks it; other key services may too.
constexpr const char* k_man_sections = R"(.SH CONFIGURATION BINDING
The host declares the TD's MRCONFIGID when it starts it (\fBtdxctl td launch\fR
takes the SHA\-384 in the config volume's \fIPATH.sha384\fR), but it also
chooses which disk to attach. Before anything reads the tdx\-config volume,
\fBunlock\fR (and \fBunlock \-\-verify\-config\-only\fR, which the premount
script runs before it sets up the network from the volume) computes the
volume's content\-manifest digest over the mounted directory, exactly as
\fBtdxctl volume config create\fR and \fBtdxctl volume inspect\fR do: a header,
the label, then "\fImode size sha384 /name\fR" for each regular file, sorted;
SHA\-384 over that. It compares the digest with the TD's own MRCONFIGID, read
from the TDX module: the sysfs measurement register
\fI/sys/devices/virtual/misc/tdx_guest/measurements/mrconfigid\fR (Linux 6.16
and later), else a TDREPORT from the \fBTDX_CMD_GET_REPORT0\fR ioctl on
\fI/dev/tdx_guest\fR. Never from a quote: configfs\-tsm quotes pass through the
host's quote generation service. The command refuses with exit status 1, before
any request, when
.RS
.IP \(bu 2
the digest differs (\fBunlock.config_mismatch\fR): the host attached another
volume than the one it declared;
.IP \(bu 2
MRCONFIGID is zero (\fBunlock.config_unbound\fR): the host bound no
configuration. There is no setting to accept this: an image that did would take
any volume a host attaches;
.IP \(bu 2
the volume holds a symbolic link, device, FIFO or directory other than an empty
\fIlost+found\fR (\fBunlock.config_entry\fR): the digest covers regular files
only.
.RE
.PP
Because of this check a quote's MRCONFIGID proves the configuration the TD
runs with (hostname, hotkey, seed, network); a key service or verifier pins it
to the value in \fIPATH.sha384\fR. Without \fI/dev/tdx_guest\fR or the sysfs
register the command exits 3, except in an image whose unlock.conf sets
\fBTDX_INSECURE_SAMPLE_EVIDENCE=1\fR (for tests without TDX hardware): there a
guest with neither computes and reports the digest, compares it with nothing
(\fBmr_config_id_source\fR "none") and says so on stderr. Such a guest's
evidence proves nothing either; a TD always compares.
.SH PROTOCOL
Each attempt (at most \fBTDX_RETRY_COUNT\fR) runs these steps with a fresh nonce.
All requests use mutual TLS with an ephemeral P\-256 key and a self\-signed
certificate made in memory for this boot; the server is verified against
\fBTDX_CA_CERT\fR (or the system store when it is empty); redirects are not
followed; each request times out after \fBTDX_TIMEOUT\fR seconds.
.TP
1. \fBGET\fR \fBTDX_NONCE_ENDPOINT\fR
The answer must be HTTP 200 with a JSON object \fB{"nonce": "<64 hex digits>"}\fR.
.TP
2. Quote
REPORTDATA = nonce (32 bytes) || SHA\-256 of the DER SubjectPublicKeyInfo of
the client certificate, through configfs\-tsm
(\fI/sys/kernel/config/tsm/report\fR). Only when unlock.conf sets
\fBTDX_INSECURE_SAMPLE_EVIDENCE=1\fR \fIand\fR there is no configfs\-tsm (a
machine without TDX, for tests) is no quote made: the request then carries
\fB"evidence": {"type": "sample", "report_data": "<128 hex>"}\fR instead of
\fB"quote"\fR, which proves nothing and which only \fBtdxctl keys serve
\-\-insecure\-accept\-sample\fR accepts.
.TP
3. \fBPOST\fR \fBTDX_API_ENDPOINT\fR
Headers \fBContent\-Type: application/json\fR, \fBUser\-Agent: TDX\-LUKS\-Client/1.0\fR,
\fBX\-Chutes\-Nonce: <nonce>\fR; body
\fB{"quote": "<base64>", "vm_name": "<hostname>", "miner_hotkey": "<ss58>"}\fR.
HTTP 200 carries \fB"key"\fR (the LUKS passphrase, required) and optionally
\fB"containerd_key"\fR (the containerd volume's key) and \fB"boot_token"\fR.
\fBtdxctl keys serve\fR (\fBtdxctl\-keys\fR(1)) serves this protocol at
\fI/nonce\fR and \fI/attest\fR.
.PP
HTTP 404 (from either endpoint) stops at once. HTTP 429 waits \fIattempt\fR*2
seconds before the next attempt; any other failure (status, TLS, timeout,
malformed answer, quote generation) waits 2 seconds. The key opens the LUKS
device found as \fI/dev/disk/by\-uuid/<uuid>\fR and is then wiped from memory;
it never appears in argv, logs or output. The exit status is 1 when the tdx\-config
volume does not match MRCONFIGID, the key service refused or the key opens no keyslot, 3 when a precondition is missing
(no device, no configfs\-tsm, service unreachable), 2 for a bad unlock.conf.
The premount script powers the TD off on any non\-zero status. When
/dev/mapper/\fINAME\fR is already active the command changes nothing and exits 0.
.SH CONTAINERD VOLUME
When unlock.conf names \fBTDX_CONTAINERD_DISK\fR (image.yaml: the volume with
\fBencrypted: true\fR and \fBdisk: td\-containerd\fR; the default volumes have it),
the TD encrypts that disk itself with a second key, \fB"containerd_key"\fR in the
same HTTP 200 answer. After the root is open, \fBunlock\fR finds the disk by the
serial the host gives it (the domain's \fB<serial>\fR, in the guest
\fI/dev/disk/by\-id/virtio\-SERIAL\fR), never by a label, which is data the host
writes. Then:
.RS
.IP \(bu 2
a \fBblank\fR disk (libblkid finds no filesystem, LUKS header, RAID or LVM member
or partition table, and its first and last MiB are zeros) is formatted: LUKS2
(aes\-xts\-plain64, 512\-bit volume key, 4096\-byte sectors) with the released
key in one PBKDF2 keyslot (the key is the service's random secret of at least
32 bytes, not a passphrase, so it is not stretched), opened, and given an ext4
filesystem; the LUKS2 label is set to \fBTDX_CONTAINERD_NAME\fR only once
mke2fs succeeded, so a first boot cut off halfway makes the filesystem again;
.IP \(bu 2
a LUKS disk is opened with the key (never reformatted); a key that opens no
keyslot is refused (\fBunlock.wrong_key\fR);
.IP \(bu 2
anything else is refused (\fBunlock.volume_not_empty\fR, naming what was
found), and so is an answer without \fB"containerd_key"\fR
(\fBunlock.no_containerd_key\fR) or a missing disk.
.RE
.PP
With \fB\-\-test\-passphrase\fR the same decision is made and the key checked
against a LUKS header, but nothing is written or activated. The mapping is
\fI/dev/mapper/\fR\fBTDX_CONTAINERD_NAME\fR; the image mounts it
(default at \fI/var/lib/rancher/k3s/agent/containerd\fR). The key exists only
in this process's locked memory; it is never in argv, a file or the
environment. \fBtdxctl volume cache create \-\-kind containerd\fR makes the
blank disk. Every refusal exits 1 and the premount script powers the TD off.
.SH TDXCTL-GUEST
Images carry \fBtdxctl\-guest\fR, a second binary with only the in\-guest verbs
(\fBunlock\fR and \fBquote generate\fR, same flags, output and exit status),
linked against OpenSSL, libcurl and libcryptsetup alone. The initramfs hook
copies it (never the host binary) with \fBcopy_exec\fR; the init\-premount
script mounts configfs and the tdx\-config volume (read\-only, by label), runs
\fBtdxctl\-guest unlock \-\-verify\-config\-only \-\-config\-dir /run/tdx\-config
\-\-config\-copy /run/tdxctl/config\fR, which reads each file of the volume once,
checks those bytes against MRCONFIGID and writes exactly them to a private (0700)
directory on the initramfs tmpfs, and unmounts the volume. Everything after
that reads the copy, never the host's disk again (the host could change it
after the check): the network comes from its \fInetwork\-config.yaml\fR (address,
default route, nameservers; dhcp4 as a fallback), and
\fBtdxctl\-guest unlock \-\-config /etc/tdxctl/unlock.conf \-\-luks\-uuid\fR \fIUUID\fR
\fB\-\-name root \-\-config\-dir /run/tdxctl/config\fR checks the copy again and
takes the identity from the bytes it checked. The DEB installs it as
\fI/usr/libexec/tdxctl/tdxctl\-guest\fR.
.SH FILES
.TP
\fI/etc/tdxctl/unlock.conf\fR
KEY=VALUE lines in /bin/sh syntax (values needing quotes use '...'), written by
\fBtdxctl image build\fR. Keys:
\fBTDX_NONCE_ENDPOINT\fR, \fBTDX_API_ENDPOINT\fR (https:// URLs, required),
\fBTDX_CA_CERT\fR (absolute path of a PEM bundle, or empty),
\fBTDX_RETRY_COUNT\fR (1\-100, default 3), \fBTDX_TIMEOUT\fR (1\-3600 seconds,
default 30), \fBTDX_LUKS_UUID\fR, \fBTDX_LUKS_NAME\fR (default root),
\fBTDX_CONTAINERD_DISK\fR (a disk serial, 1\-20 of A\-Z a\-z 0\-9 _ \- .; empty
or absent: no containerd volume), \fBTDX_CONTAINERD_NAME\fR (default containerd),
\fBTDX_INSECURE_SAMPLE_EVIDENCE\fR (0 or 1, default 0; image.yaml
\fBunlock.insecure_sample_evidence\fR: sample evidence without configfs\-tsm, for
tests without TDX only).
Unknown or repeated keys are errors naming the line.
.TP
\fI/run/tdxctl/config/hostname\fR, \fI/run/tdxctl/config/miner\-ss58\fR
The tdx\-config volume's files as checked against MRCONFIGID (the premount
script's copy; \fB\-\-config\-dir\fR, default /run/tdx\-config): vm_name is
the hostname without whitespace, cut at the first character outside
[A\-Za\-z0\-9_\-]; the hotkey is the ss58 without whitespace, at most 64
characters.
.TP
\fI/run/chutes/vm\-name\fR, \fI/run/chutes/hotkey\fR, \fI/run/chutes/boot\-token\fR
Written 0600 (directory 0700) for later boot stages; boot\-token is empty when
the service sent none.
)";

} // namespace

void add_unlock(CLI::App& app, Context& ctx) {
  auto req = std::make_shared<unlock::UnlockRequest>();
  auto wait_s = std::make_shared<unsigned>(30);
  auto config_only = std::make_shared<bool>(false);
  auto config_copy = std::make_shared<std::string>();
  auto* verb = app.add_subcommand(
      "unlock", "Unlock the LUKS root with a key released after TDX attestation (runs in the TD's initramfs)");
  verb->add_option("--config", req->config_file, "Key-release settings (default /etc/tdxctl/unlock.conf)")
      ->type_name("FILE");
  verb->add_option("--luks-uuid", req->luks_uuid, "UUID of the LUKS root (default TDX_LUKS_UUID)")
      ->type_name("UUID");
  verb->add_option("--name", req->name, "Device-mapper name to create (default TDX_LUKS_NAME, else root)")
      ->type_name("NAME");
  verb->add_option("--config-dir", req->config_dir,
                   "The tdx-config volume's files, under --root: the mounted volume, or the --config-copy of it "
                   "(default /run/tdx-config)")
      ->type_name("DIR");
  verb->add_flag("--verify-config-only", *config_only,
                 "Only check the tdx-config volume against this TD's MRCONFIGID; contact no key service");
  verb->add_option("--config-copy", *config_copy,
                   "With --verify-config-only: write the checked files to this private directory (under --root, "
                   "on tmpfs), for every later reader instead of the host's disk")
      ->type_name("DIR");
  verb->add_flag("--test-passphrase", req->test_passphrase,
                 "Only check the released key against the LUKS header; activate nothing");
  verb->add_option("--tsm-entry", req->tsm_entry,
                   "configfs-tsm report entry to use (default: a private one)")
      ->type_name("NAME");
  verb->add_option("--device-timeout", *wait_s,
                   "Seconds (0-600) to wait for /dev/disk/by-uuid/UUID to appear (default 30)")
      ->check(CLI::Range(0u, 600u).description(""))->type_name("SECONDS");
  verb->footer("Examples:\n"
               "  tdxctl unlock --config /etc/tdxctl/unlock.conf --luks-uuid 6f1c...e2 --name root\n"
               "  tdxctl unlock --test-passphrase -o json\n"
               "  tdxctl unlock --verify-config-only --config-dir /run/tdx-config --config-copy /run/tdxctl/config");
  set_man_sections(verb, k_man_sections);
  verb->callback([req, wait_s, config_only, config_copy, &ctx] {
    if (!config_copy->empty() && !*config_only)
      throw core::Failure(core::Category::usage, "unlock.usage", "--config-copy goes with --verify-config-only",
                          "run `tdxctl unlock --verify-config-only --config-copy DIR`, then unlock with --config-dir DIR");
    if (*config_only) {
      // unlock.conf only says whether a guest without TDX may skip the comparison.
      bool sample = false;
      if (std::error_code ec; std::filesystem::exists(req->config_file, ec))
        sample = core::value_or_throw(unlock::load_unlock_config(req->config_file)).insecure_sample_evidence;
      auto binding = core::value_or_throw(unlock::verify_config_binding(ctx.root(), req->config_dir, sample));
      if (!config_copy->empty()) core::value_or_throw(unlock::write_checked_copy(ctx.root(), binding, *config_copy));
      auto doc = binding.to_json();
      doc["copy"] = config_copy->empty() ? core::Json(nullptr) : core::Json(ctx.root().path(*config_copy).string());
      ctx.out().emit("tdxctl.unlock.config/1", doc, [&](std::ostream& os) {
        if (binding.source == "none")
          os << binding.dir.string() << " has digest " << binding.digest << " (" << binding.files.size()
             << " files); NOT checked: no TDX, insecure sample evidence\n";
        else
          os << binding.dir.string() << " matches MRCONFIGID " << binding.mr_config_id << " (" << binding.files.size()
             << " files, MRCONFIGID from " << binding.source << ")\n";
        if (!config_copy->empty()) os << "checked copy: " << ctx.root().path(*config_copy).string() << "\n";
      });
      return;
    }
    req->device_wait = std::chrono::seconds(*wait_s);
    // unlock has no plan to print: it acts at boot and --dry-run does not
    // apply to it, so its one command (mke2fs on a new containerd volume)
    // runs through the real runner whatever the flag says.
    auto report = unlock::run_unlock(ctx.root(), *req, ctx.probe());
    ctx.out().emit("tdxctl.unlock/1", report.to_json(), [&](std::ostream& os) {
      if (report.luks.already_active) {
        os << "/dev/mapper/" << report.name << " is already active; nothing to do\n";
        return;
      }
      os << (report.test_passphrase ? "key opens keyslot " : "unlocked with keyslot ") << report.luks.keyslot
         << " of " << report.luks.device.string()
         << (report.test_passphrase ? " (--test-passphrase: nothing activated)" : " as /dev/mapper/" + report.name)
         << " after " << report.attempts.size() << (report.attempts.size() == 1 ? " attempt" : " attempts") << "\n";
      if (const auto& c = report.containerd) {
        if (c->already_active)
          os << "containerd volume: already active\n";
        else if (c->would_format)
          os << "containerd volume " << c->device.string() << ": blank (--test-passphrase: not formatted)\n";
        else if (!c->activated)
          os << "containerd volume " << c->device.string() << ": key opens keyslot " << c->keyslot
             << " (--test-passphrase: nothing activated)\n";
        else
          os << "containerd volume " << c->device.string() << ": "
             << (c->formatted ? "blank, formatted (LUKS2 " + c->luks_uuid + ") and opened"
                              : "LUKS2 " + c->luks_uuid + " opened")
             << (c->filesystem_created ? ", ext4 created" : "") << "\n";
      }
      for (const auto& f : report.files) os << "wrote " << f.string() << "\n";
    });
  });
}

} // namespace tdx::cmd
