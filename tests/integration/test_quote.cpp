// tdxctl quote show|verify|generate|serve|fetch through the real binary, on
// the shared real quotes and collateral, and a fake configfs-tsm tree.
#include "support/fixtures.hpp"
#include "support/unlock_fixtures.hpp"

#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/quote/channel.hpp"
#include "tdxctl/quote/quote.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

using namespace tdx;
using nlohmann::json;

namespace {
std::string set_dir(const std::string& name) { return (test::testdata() / "quotes" / name).string(); }
std::string slurp(const std::filesystem::path& p) { return core::value_or_throw(core::read_file(p)); }

// `tdxctl quote serve --unix` on TSM entry serve0 under `root`, answering `count` requests.
struct QuoteServe {
  std::string socket;
  core::Completed result;
  std::thread thread;
  QuoteServe(const std::filesystem::path& root, int count) : socket((root / "q.sock").string()) {
    thread = std::thread([this, root, count] {
      // No rate limit here: the cases fetch back to back, and the limit is not what they test.
      result = test::run_tdxctl({"--root", root.string(), "quote", "serve", "--unix", socket, "--count",
                                 std::to_string(count), "--tsm-entry", "serve0", "--rate", "1000"});
    });
    for (int i = 0; i < 100 && !std::filesystem::exists(socket); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~QuoteServe() {
    if (thread.joinable()) thread.join();
  }
  const core::Completed& finish() {
    thread.join();
    return result;
  }
};
} // namespace

TEST_CASE("quote show decodes binary, base64 and hex", "[quote][integration]") {
  auto q = set_dir("tdx-v5-90c06f-uptodate") + "/quote.bin";
  auto text = test::run_tdxctl({"quote", "show", q});
  REQUIRE(text.ok());
  CHECK_THAT(text.out, Catch::Contains("Quote v5 (TDX)") && Catch::Contains("TEE_TCB_SVN2") &&
                           Catch::Contains("FMSPC 90c06f000000"));
  auto b64 = core::base64_encode(core::as_bytes(slurp(q)));
  auto js = test::run_tdxctl({"quote", "show", "-", "-o", "json"}, b64);
  REQUIRE(js.ok());
  auto doc = json::parse(js.out);
  CHECK(doc["schema"] == "tdxctl.quote.show/1");
  CHECK(doc["td_report"]["mr_td"] ==
        "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876");
  CHECK(doc["pck"]["fmspc"] == "90c06f000000");
  auto debug = test::run_tdxctl({"quote", "show", set_dir("tdx-v4-50806f-debug") + "/quote.bin"});
  CHECK_THAT(debug.out, Catch::Contains("DEBUG (host can read TD memory!)"));
}

TEST_CASE("quote show names the offset of a truncated quote and exits 2", "[quote][integration]") {
  core::TempDir dir;
  auto raw = slurp(set_dir("tdx-v4-b0c06f-uptodate") + "/quote.bin");
  test::put(dir.path(), "short.bin", raw.substr(0, 700));
  auto r = test::run_tdxctl({"quote", "show", (dir.path() / "short.bin").string()});
  CHECK(r.exit_status == 2);
  CHECK_THAT(r.err, Catch::Contains("sig_data_len at byte offset 632"));
}

TEST_CASE("quote verify: verdicts and exit codes", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  auto ok = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", good, "--at",
                              "2025-06-25T00:00:00Z", "-o", "json"});
  REQUIRE(ok.exit_status == 0);
  auto doc = json::parse(ok.out);
  CHECK(doc["schema"] == "tdxctl.quote.verify/1");
  CHECK(doc["tcb_status"] == "UpToDate");
  CHECK(doc["policy"]["passed"] == true);

  auto debug = set_dir("tdx-v4-50806f-debug");
  auto d = test::run_tdxctl({"quote", "verify", debug + "/quote.bin", "--collateral", debug, "--at", "1688169600"});
  CHECK(d.exit_status == 1);
  CHECK_THAT(d.out, Catch::Contains("REJECTED") && Catch::Contains("policy debug"));
  auto d2 = test::run_tdxctl({"quote", "verify", debug + "/quote.bin", "--collateral", debug, "--at",
                              "1688169600", "--allow-debug"});
  CHECK(d2.exit_status == 0);

  auto bad = test::run_tdxctl({"quote", "verify", set_dir("negative-b0c06f") + "/quote-bad-quote-sig.bin",
                               "--collateral", good, "--at", "1750809600"});
  CHECK(bad.exit_status == 1);
  CHECK_THAT(bad.out, Catch::Contains("FAILED at quote: INVALID_QUOTE_SIGNATURE"));

  auto ood = set_dir("tdx-v4-00806f05-outofdate");
  auto o1 = test::run_tdxctl({"quote", "verify", ood + "/quote.bin", "--collateral", ood, "--at", "1738368000"});
  CHECK(o1.exit_status == 1);
  auto o2 = test::run_tdxctl({"quote", "verify", ood + "/quote.bin", "--collateral", ood, "--at", "1738368000",
                              "--accept", "UpToDate,OutOfDate"});
  CHECK(o2.exit_status == 0);
  CHECK_THAT(o2.out, Catch::Contains("INTEL-SA-00960"));

  core::TempDir empty;
  auto missing = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", empty.path().string()});
  CHECK(missing.exit_status == 3);
}

TEST_CASE("quote verify: --accept takes TCB status names only; missing inputs are named", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  auto any = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", good, "--at",
                               "1750809600", "--accept", "UpToDate,any"});
  CHECK(any.exit_status == 2);
  CHECK_THAT(any.err, Catch::Contains("unknown TCB status 'any'") && Catch::Contains("SWHardeningNeeded") &&
                          Catch::Contains("TDRelaunchAdvisedConfigurationNeeded"));
  auto help = test::run_tdxctl({"quote", "verify", "--help"});
  CHECK_THAT(help.out, Catch::Contains("OutOfDateConfigurationNeeded"));

  core::TempDir dir;
  auto no_policy = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", good, "--at",
                                     "1750809600", "--policy", (dir.path() / "absent.yaml").string()});
  CHECK(no_policy.exit_status == 2);
  CHECK_THAT(no_policy.err, Catch::Contains("absent.yaml"));
  auto no_dir = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral",
                                  (dir.path() / "nowhere").string()});
  CHECK(no_dir.exit_status == 3);
  CHECK_THAT(no_dir.err, Catch::Contains("nowhere") && Catch::Contains("tdxctl collateral fetch"));
  auto no_quote = test::run_tdxctl({"quote", "verify", (dir.path() / "absent.bin").string(), "--collateral", good});
  CHECK(no_quote.exit_status == 2);
  CHECK_THAT(no_quote.err, Catch::Contains("absent.bin"));
}

TEST_CASE("quote verify --nonce and policy.yaml", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  core::TempDir dir;
  test::put(dir.path(), "policy.yaml",
            "mr_td:\n  - 91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\n"
            "rtmr3: " + std::string(96, '0') + "\n");
  auto pass = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", good, "--at", "1750809600",
                                "--policy", (dir.path() / "policy.yaml").string()});
  CHECK(pass.exit_status == 0);
  auto nonce = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", good, "--at", "1750809600",
                                 "--nonce", "00112233", "-o", "json"});
  CHECK(nonce.exit_status == 1);
  auto doc = json::parse(nonce.out);
  CHECK(doc["policy"]["failures"][0]["check"] == "report_data");
  test::put(dir.path(), "bad.yaml", "mr_td:\n  - abcd\nbogus: 1\n");
  auto bad = test::run_tdxctl({"quote", "verify", good + "/quote.bin", "--collateral", good, "--policy",
                               (dir.path() / "bad.yaml").string()});
  CHECK(bad.exit_status == 2);
  CHECK_THAT(bad.err, Catch::Contains("bad.yaml:2") && Catch::Contains("96 hex digits") && Catch::Contains("bogus"));
}

TEST_CASE("quote verify of many quotes prints JSON lines", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  auto b64 = core::base64_encode(core::as_bytes(slurp(good + "/quote.bin")));
  std::string lines;
  for (int i = 0; i < 6; ++i) lines += json{{"name", "q" + std::to_string(i)}, {"quote", b64}}.dump() + "\n";
  auto r = test::run_tdxctl({"quote", "verify", "--jsonl", good + "/quote.bin", "--collateral", good, "--at",
                             "1750809600", "-o", "json", "-j", "2"},
                            lines);
  CHECK(r.exit_status == 0);
  size_t count = 0;
  for (size_t pos = 0; pos < r.out.size();) {
    auto nl = r.out.find('\n', pos);
    auto doc = json::parse(r.out.substr(pos, nl - pos));
    CHECK(doc["accepted"] == true);
    ++count;
    pos = nl + 1;
  }
  CHECK(count == 7);
}

// Plain base64 lines, more than the first 2 MiB of the stdin buffer (which
// then grows twice), through a pipe: every line its report, in order; and
// standard input asked for twice is refused.
TEST_CASE("quote verify --jsonl: a stream of plain lines past the first buffer, in order", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  auto b64 = core::base64_encode(core::as_bytes(slurp(good + "/quote.bin")));
  std::string lines;
  const int n = 700; // ~6.6 KB a line: ~4.6 MB
  for (int i = 0; i < n; ++i) lines += "\"" + b64 + "\"\n";
  REQUIRE(lines.size() > (size_t{4} << 20));
  auto r = test::run_tdxctl({"quote", "verify", "--jsonl", "--collateral", good, "--at", "1750809600", "-o", "json"},
                            lines);
  CHECK(r.exit_status == 0);
  int count = 0;
  for (size_t pos = 0; pos < r.out.size(); ++count) {
    auto nl = r.out.find('\n', pos);
    auto doc = json::parse(r.out.substr(pos, nl - pos));
    CHECK(doc["name"] == "stdin:" + std::to_string(count + 1));
    CHECK(doc["accepted"] == true);
    pos = nl + 1;
  }
  CHECK(count == n);

  // Refused before anything is read (no input given: a pipe nobody reads
  // would end the test with SIGPIPE).
  auto twice = test::run_tdxctl({"quote", "verify", "--jsonl", "-", "--collateral", good});
  CHECK(twice.exit_status == 2);
  CHECK_THAT(twice.err, Catch::Contains("standard input can be read only once"));
}

TEST_CASE("quote verify of many files: one line each, in order, errors named, on 1 and 2 jobs",
          "[quote][integration]") {
  // Enough files that workers read them in batches (core/file_batch), with a
  // file that is no quote, a missing one and a directory among them.
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  core::TempDir dir;
  auto quote = slurp(good + "/quote.bin");
  std::vector<std::string> args{"-o", "json", "quote", "verify", "--collateral", good, "--at", "1750809600"};
  std::vector<std::string> names;
  for (int i = 0; i < 150; ++i) {
    auto name = "q" + std::to_string(i) + ".bin";
    if (i == 40) test::put(dir.path(), name, "not a quote");
    else if (i == 77) std::filesystem::create_directory(dir.path() / name);
    else if (i != 99) test::put(dir.path(), name, quote);
    names.push_back((dir.path() / name).string());
  }
  args.insert(args.end(), names.begin(), names.end());
  std::string first_out;
  for (const char* jobs : {"1", "2"}) {
    auto with_jobs = args;
    with_jobs.insert(with_jobs.end(), {"-j", jobs});
    auto r = test::run_tdxctl(with_jobs);
    INFO("jobs " << jobs << "\n" << r.err);
    CHECK(r.exit_status == 1); // three not accepted
    CHECK_THAT(r.err, Catch::Contains("3 of 150 quotes not accepted"));
    std::vector<json> docs;
    for (size_t pos = 0; pos < r.out.size();) {
      auto nl = r.out.find('\n', pos);
      docs.push_back(json::parse(r.out.substr(pos, nl - pos)));
      pos = nl + 1;
    }
    REQUIRE(docs.size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      INFO(names[i]);
      CHECK(docs[i]["name"] == names[i]);
      CHECK(docs[i]["accepted"] == (i != 40 && i != 77 && i != 99));
    }
    CHECK_THAT(docs[77].dump(), Catch::Contains("Is a directory"));
    CHECK_THAT(docs[99].dump(), Catch::Contains("No such file or directory"));
    if (first_out.empty()) first_out = r.out;
    else CHECK(r.out == first_out); // the same stream whatever the jobs
  }
}

TEST_CASE("quote verify --json-array: one JSON document for one quote or several", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  auto one = test::run_tdxctl({"quote", "verify", "--json-array", good + "/quote.bin", "--collateral", good,
                               "--at", "1750809600"});
  CHECK(one.exit_status == 0);
  auto doc = json::parse(one.out); // implies -o json
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 1);
  CHECK(doc[0]["schema"] == "tdxctl.quote.verify/1");
  CHECK(doc[0]["accepted"] == true);

  // Two accepted, one that is not a quote, one of another platform: all in
  // the one array, exit 1, and no error document after it.
  core::TempDir dir;
  test::put(dir.path(), "junk.quote", "not a quote");
  auto many = test::run_tdxctl({"-o", "json", "quote", "verify", "--json-array", good + "/quote.bin",
                                good + "/quote.bin", (dir.path() / "junk.quote").string(),
                                set_dir("tdx-v5-90c06f-uptodate") + "/quote.bin", "--collateral", good, "--at",
                                "1750809600"});
  CHECK(many.exit_status == 1);
  auto all = json::parse(many.out);
  REQUIRE(all.size() == 4);
  CHECK(all[0]["accepted"] == true);
  CHECK(all[1]["accepted"] == true);
  CHECK(all[2]["status"] == "INVALID_INPUT");
  // One set named: every quote is checked against it, the other platform's too
  // (here its PCK chain is not valid at this set's time).
  CHECK(all[3]["verified"] == false);
  CHECK(all[3]["accepted"] == false);
}

TEST_CASE("quote verify, text: a batch names each input once on its line", "[quote][integration]") {
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  core::TempDir dir;
  auto junk = (dir.path() / "junk.quote").string();
  test::put(dir.path(), "junk.quote", "not a quote");
  auto r = test::run_tdxctl({"-o", "text", "quote", "verify", good + "/quote.bin", junk, "--collateral", good,
                             "--at", "1750809600"});
  INFO(r.out + r.err);
  CHECK(r.exit_status == 1); // one not accepted
  auto at = r.out.find(junk + ": INVALID INPUT: ");
  REQUIRE(at != std::string::npos);
  auto line = r.out.substr(at, r.out.find('\n', at) - at);
  CHECK(line.find(junk, junk.size()) == std::string::npos); // not "junk: INVALID INPUT: junk: ..."
  CHECK(line.size() > junk.size() + 17);                   // and the reason is there
  CHECK_THAT(r.out, Catch::Contains(good + "/quote.bin: OK"));
  CHECK_THAT(r.out, Catch::Contains("1 of 2 quotes accepted"));
}

TEST_CASE("quote verify --collateral CACHE picks each quote's FMSPC set", "[quote][integration]") {
  // The layout of `collateral fetch`: CACHE/<FMSPC> -> sets/<hash>.
  core::TempDir dir;
  auto cache = dir.path() / "cache";
  std::filesystem::create_directories(cache / "sets");
  for (auto [set, fmspc] : {std::pair{"tdx-v5-90c06f-uptodate", "90C06F000000"},
                            std::pair{"tdx-v4-b0c06f-uptodate", "B0C06F000000"}}) {
    std::filesystem::copy(set_dir(set), cache / "sets" / set);
    std::filesystem::create_directory_symlink(std::string("sets/") + set, cache / fmspc);
  }
  // Two platforms, three quotes, one call. Their collateral is valid at
  // different times, so at the 90C06F set's time the B0C06F set is expired.
  auto r = test::run_tdxctl({"quote", "verify", "--json-array", set_dir("tdx-v5-90c06f-uptodate") + "/quote.bin",
                             set_dir("tdx-v5-90c06f-tcb-not-supported") + "/quote.bin",
                             set_dir("tdx-v4-b0c06f-uptodate") + "/quote.bin", "--collateral", cache.string(),
                             "--at", "2026-03-01T00:00:00Z", "--allow-expired-collateral"});
  INFO(r.out + r.err);
  CHECK(r.exit_status == 1);
  auto all = json::parse(r.out);
  REQUIRE(all.size() == 3);
  CHECK(all[0]["tcb_status"] == "UpToDate");
  CHECK(all[0]["pck"]["fmspc"] == "90c06f000000");
  CHECK(all[0]["collateral_expired"] == false);
  CHECK(all[1]["status"] == "TCB_NOT_SUPPORTED");
  CHECK(all[2]["tcb_status"] == "UpToDate"); // its own platform's TCB info, not a mismatch
  CHECK(all[2]["pck"]["fmspc"] == "b0c06f000000");
  CHECK(all[2]["collateral_expired"] == true);

  // A platform the cache lacks: named, with the command that fetches it; exit 3.
  auto debug = set_dir("tdx-v4-50806f-debug") + "/quote.bin";
  auto none = test::run_tdxctl({"-o", "json", "quote", "verify", debug, "--collateral", cache.string(), "--at",
                                "1688169600"});
  CHECK(none.exit_status == 3);
  auto error = json::parse(none.out);
  CHECK(error["code"] == "collateral.missing_fmspc");
  CHECK_THAT(error["message"].get<std::string>(), Catch::Contains("FMSPC 50806F000000"));
  CHECK(error["hint"] == "run 'tdxctl collateral fetch --pcs --quote " + debug + "' (or --pccs URL)");
  // Beside quotes that have collateral it is one report among the others.
  auto mixed = test::run_tdxctl({"quote", "verify", "--json-array", debug,
                                 set_dir("tdx-v4-b0c06f-uptodate") + "/quote.bin", "--collateral", cache.string(),
                                 "--at", "1750809600"});
  CHECK(mixed.exit_status == 1);
  auto both = json::parse(mixed.out);
  CHECK(both[0]["status"] == "NO_COLLATERAL");
  CHECK(both[1]["accepted"] == true);
}

TEST_CASE("quote verify --cold rechecks every quote and gives the warm verdicts", "[quote][integration]") {
  // --cold verifies collateral and PCK chains again for each quote (reusing
  // only decoded bytes): the good quotes pass, the tampered one in between fails.
  auto good = set_dir("tdx-v4-b0c06f-uptodate");
  auto bad = set_dir("negative-b0c06f") + "/quote-bad-quote-sig.bin";
  for (bool cold : {true, false}) {
    INFO("cold " << cold);
    std::vector<std::string> args{"quote", "verify", good + "/quote.bin", bad, good + "/quote.bin", "--collateral",
                                  good,    "--at",   "1750809600",       "-o", "json",               "-j",
                                  "2"};
    if (cold) args.push_back("--cold");
    auto r = test::run_tdxctl(args);
    CHECK(r.exit_status == 1);
    std::vector<std::string> statuses;
    for (size_t pos = 0; pos < r.out.size();) {
      auto nl = r.out.find('\n', pos);
      statuses.push_back(json::parse(r.out.substr(pos, nl - pos))["status"].get<std::string>());
      pos = nl + 1;
    }
    CHECK(statuses == std::vector<std::string>{"UpToDate", "INVALID_QUOTE_SIGNATURE", "UpToDate"});
  }
}

TEST_CASE("quote generate through a fake configfs-tsm entry", "[quote][integration]") {
  core::TempDir root;
  auto quote_bytes = slurp(set_dir("tdx-v4-b0c06f-uptodate") + "/quote.bin");
  std::string entry = "sys/kernel/config/tsm/report/shared0/";
  test::put(root.path(), entry + "provider", "tdx_guest\n");
  test::put(root.path(), entry + "generation", "7\n");
  test::put(root.path(), entry + "inblob", "");
  test::put(root.path(), entry + "outblob", quote_bytes);
  std::string rd(128, 'a');
  auto out = root.path() / "q.bin";
  auto r = test::run_tdxctl({"--root", root.path().string(), "quote", "generate", "--report-data", rd,
                             "--tsm-entry", "shared0", "--out", out.string()});
  REQUIRE(r.ok());
  CHECK(slurp(out) == quote_bytes);
  CHECK(core::to_hex(core::as_bytes(slurp(root.path() / entry / "inblob"))) == rd);
  auto again = test::run_tdxctl({"--root", root.path().string(), "quote", "generate", "--report-data", rd,
                                 "--tsm-entry", "shared0", "--out", out.string()});
  CHECK(again.exit_status == 2); // never overwrites without --force
  auto short_rd = test::run_tdxctl({"--root", root.path().string(), "quote", "generate", "--report-data",
                                    std::string(126, 'a'), "--tsm-entry", "shared0"});
  CHECK(short_rd.exit_status == 2);
  CHECK_THAT(short_rd.err, Catch::Contains("exactly 128 hex digits"));
  test::put(root.path(), entry + "provider", "sev_guest\n");
  auto wrong = test::run_tdxctl({"--root", root.path().string(), "quote", "generate", "--report-data", rd,
                                 "--tsm-entry", "shared0"});
  CHECK(wrong.exit_status == 3);
  CHECK_THAT(wrong.err, Catch::Contains("expected tdx_guest"));
  core::TempDir bare;
  auto none = test::run_tdxctl({"--root", bare.path().string(), "quote", "generate", "--report-data", rd});
  CHECK(none.exit_status == 3);
}

TEST_CASE("quote serve and fetch over a UNIX socket bind the nonce", "[quote][integration]") {
  // quote serve's TSM entry is emulated the way the kernel behaves: each
  // quote carries the REPORTDATA written to inblob.
  core::TempDir root;
  test::TsmEmulator tsm(root.path(), "serve0", test::sample_quote());
  QuoteServe serve(root.path(), 2);
  const auto& sock = serve.socket;
  std::string nonce = std::string(62, '0') + "2a";
  auto nonce_bytes = core::value_or_throw(core::from_hex(nonce));
  auto expected = quote::fetch_report_data(std::span<const uint8_t, 32>(nonce_bytes.data(), 32));
  auto out = root.path() / "fetched.bin";
  auto r = test::run_tdxctl({"quote", "fetch", "--unix", sock, "--nonce", nonce, "--out", out.string(), "-o", "json"});
  INFO(r.err);
  CHECK(r.exit_status == 0);
  // The guest wrote SHA-512(nonce || "tdxctl-fetch") as REPORTDATA, and the quote carries it.
  CHECK(slurp(out).substr(48 + 520, 64) == std::string(expected.begin(), expected.end()));
  CHECK(json::parse(r.out)["saved"] == true);
  // --verify: the emulated quote's signature no longer covers its body, so it is rejected and not saved.
  auto verified = root.path() / "verified.bin";
  auto set = set_dir("tdx-v4-b0c06f-uptodate");
  auto v = test::run_tdxctl({"quote", "fetch", "--unix", sock, "--out", verified.string(), "--verify",
                             "--collateral", set, "--at", "1750809600", "-o", "json"});
  CHECK(serve.finish().ok());
  INFO(v.out << v.err);
  CHECK(v.exit_status == 1);
  CHECK(json::parse(v.out)["verification"]["verified"] == false);
  CHECK_FALSE(std::filesystem::exists(verified));
  auto bad_nonce = test::run_tdxctl({"quote", "fetch", "--unix", sock, "--nonce", "abc", "--out", out.string()});
  CHECK(bad_nonce.exit_status == 2);
}

TEST_CASE("quote fetch refuses a replayed quote even without --verify, saving nothing", "[quote][integration]") {
  // A guest (or a relay) that answers with a recorded quote: REPORTDATA does
  // not bind this nonce. Before, it was saved and the command exited 0.
  core::TempDir root;
  auto quote_bytes = slurp(set_dir("tdx-v4-b0c06f-uptodate") + "/quote.bin");
  std::string entry = "sys/kernel/config/tsm/report/serve0/";
  test::put(root.path(), entry + "provider", "tdx_guest\n");
  test::put(root.path(), entry + "generation", "1\n");
  test::put(root.path(), entry + "inblob", "");
  test::put(root.path(), entry + "outblob", quote_bytes); // a plain file: always the same recorded quote
  QuoteServe serve(root.path(), 1);
  const auto& sock = serve.socket;
  auto out = root.path() / "fetched.bin";
  auto r = test::run_tdxctl({"quote", "fetch", "--unix", sock, "--out", out.string()});
  CHECK(serve.finish().ok());
  CHECK(r.exit_status == 1);
  CHECK_THAT(r.err, Catch::Contains("not bound to this request") && Catch::Contains("nothing was saved"));
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("a PCK certificate name with terminal escapes prints escaped", "[quote][integration]") {
  // A quote whose PCK leaf is replaced by a certificate named with an OSC
  // window-title sequence and a clear-screen: show and verify print it, but
  // as \x1b... text, never as the raw bytes a terminal would act on.
  core::TempDir dir;
  auto set = set_dir("tdx-v4-b0c06f-uptodate");
  auto raw = slurp(set + "/quote.bin");
  auto q = core::value_or_throw(quote::parse_quote(core::as_bytes(raw)));
  core::RealRunner runner;
  const std::string cn = "SGX PCK Certificate\x1b]2;owned\x07\x1b[2J";
  core::run_checked(runner,
                    {{"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", (dir / "k.pem").string(), "-out", (dir / "c.pem").string(), "-days", "1", "-subj",
                      "/CN=" + cn}},
                    "make a certificate with a hostile name");
  // The hostile leaf, then the real intermediate and root.
  std::string rest = q.cert_data.substr(q.cert_data.find("-----END CERTIFICATE-----") + 25);
  std::string chain = slurp(dir / "c.pem") + rest.substr(rest.find("-----BEGIN"));
  // Splice it in: pck_cert_data.size sits just before the PEM; certification_data.size and
  // sig_data_len cover it too.
  size_t pem = raw.find("-----BEGIN CERTIFICATE-----");
  std::string forged = raw.substr(0, pem) + chain;
  auto put_u32 = [&](size_t at, size_t v) {
    for (int i = 0; i < 4; ++i) forged[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put_u32(pem - 4, chain.size());
  put_u32(q.signed_len + 4 + 128 + 2, forged.size() - (q.signed_len + 4 + 128 + 6));
  put_u32(q.signed_len, forged.size() - (q.signed_len + 4));
  test::put(dir.path(), "forged.bin", forged);
  REQUIRE(quote::parse_quote(core::as_bytes(forged)));

  auto show = test::run_tdxctl({"quote", "show", (dir / "forged.bin").string()});
  REQUIRE(show.ok());
  CHECK_THAT(show.out, Catch::Contains("PCK chain        SGX PCK Certificate\\x1b]2;owned\\x07\\x1b[2J <- "));
  auto verify = test::run_tdxctl({"quote", "verify", (dir / "forged.bin").string(), "--collateral", set, "--at",
                                  "1750809600"});
  CHECK(verify.exit_status == 1);
  CHECK_THAT(verify.out, Catch::Contains("SGX PCK Certificate\\x1b]2;owned"));
  for (const auto* text : {&show.out, &show.err, &verify.out, &verify.err}) {
    CHECK(text->find('\x1b') == std::string::npos);
    CHECK(text->find('\x07') == std::string::npos);
  }
}
