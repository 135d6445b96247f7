// core/: errors and exit codes, hex/base64, atomic files, the runner, plans.
#include "support/fixtures.hpp"
#include "tdxctl/core/error.hpp"
#include "tdxctl/core/fs.hpp"
#include "tdxctl/core/hex.hpp"
#include "tdxctl/core/plan.hpp"
#include "tdxctl/core/root.hpp"
#include "tdxctl/core/runner.hpp"
#include "tdxctl/core/secret.hpp"

#include <catch2/catch.hpp>
#include <cstdio>

#include <sys/stat.h>

using namespace tdx::core;
namespace fs = std::filesystem;

TEST_CASE("exit codes follow the documented table") {
  CHECK(exit_code(Category::failed) == 1);
  CHECK(exit_code(Category::usage) == 2);
  CHECK(exit_code(Category::invalid_input) == 2);
  CHECK(exit_code(Category::not_ready) == 3);
  CHECK(exit_code(Category::partial) == 4);
  CHECK(exit_code(Category::interrupted) == 130);
}

TEST_CASE("hex round trip and strict errors name the position") {
  Bytes b{0x00, 0xab, 0xff};
  CHECK(to_hex(b) == "00abff");
  // Every byte value, appended after what the buffer holds already.
  Bytes all(256);
  std::string expect = "prefix:";
  for (size_t i = 0; i < all.size(); ++i) {
    all[i] = static_cast<uint8_t>(i);
    char two[3];
    std::snprintf(two, sizeof two, "%02x", static_cast<unsigned>(i));
    expect += two;
  }
  std::string out = "prefix:";
  append_hex(all, out);
  CHECK(out == expect);
  CHECK(*from_hex(out.substr(7)) == all);
  // A buffer grown an append at a time, through reallocations that double it.
  std::string grown, reference;
  for (size_t n = 0; n < 300; ++n) {
    size_t len = n % 97;
    append_hex(std::span(all).first(len), grown);
    reference += expect.substr(7, 2 * len);
  }
  CHECK(grown == reference);
  CHECK(*from_hex("00ABff") == b);
  auto odd = from_hex("abc", "nonce");
  REQUIRE_FALSE(odd);
  CHECK(odd.error().message == "nonce: odd number of hex digits (3)");
  auto bad = from_hex("00zz");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("position 2") != std::string::npos);
}

TEST_CASE("base64 decoding handles padding exactly and rejects junk") {
  CHECK(base64_encode(as_bytes("hello")) == "aGVsbG8=");
  auto d = base64_decode("aGVsbG8=");
  REQUIRE(d);
  CHECK(std::string(d->begin(), d->end()) == "hello");
}

// Decoding is tdxctl's own; encoding is OpenSSL's: every length 0-300 (each
// padding), random bytes, with whitespace between the digits and without.
TEST_CASE("base64 decoding undoes OpenSSL's encoding, whitespace or not") {
  uint64_t x = 12345;
  for (size_t len = 0; len <= 300; ++len) {
    Bytes data(len);
    for (auto& b : data) {
      x = x * 6364136223846793005 + 1442695040888963407;
      b = static_cast<uint8_t>(x >> 56);
    }
    auto text = base64_encode(data);
    INFO("length " << len << ": " << text);
    auto plain = base64_decode(text);
    REQUIRE(plain);
    CHECK(*plain == data);
    std::string spaced;
    for (size_t i = 0; i < text.size(); ++i) spaced += std::string(i % 7 == 0 ? "\r\n" : i % 5 == 0 ? " \t" : "") + text[i];
    auto with_space = base64_decode(spaced + "\n");
    REQUIRE(with_space);
    CHECK(*with_space == data);
  }
}

TEST_CASE("base64 rejects bad length, characters and padding") {
  CHECK_FALSE(base64_decode("aGVsbG8"));
  CHECK_FALSE(base64_decode("aGV*bG8="));
  CHECK_FALSE(base64_decode("a=Vs"));
  for (const char* misplaced : {"A===", "AA=A", "====", "AAAA=AAA", "AA==AAAA"}) {
    auto r = base64_decode(misplaced);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("misplaced '=' padding"));
  }
  CHECK(base64_decode("aGk=")->size() == 2);
  // Whitespace anywhere is skipped; a bad character is named at its place
  // in the text as given, whitespace included.
  auto spaced = base64_decode(" aGVs\r\nbG8=\t\n");
  REQUIRE(spaced);
  CHECK(std::string(spaced->begin(), spaced->end()) == "hello");
  auto bad = base64_decode("aG Vs\nb*8=");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("invalid base64 character at position 7"));
  CHECK_FALSE(base64_decode("aGVs\x80" "bG8="));
  CHECK_FALSE(base64_decode("aGVs bG8")); // 7 digits once the space is gone
}

// The common text is checked as it is decoded, by tables for each place of
// a quantum: a stray byte at any place of a long text is still refused, and
// every whitespace character of the C locale is still skipped.
TEST_CASE("base64 refuses a stray byte at every place, skips every whitespace") {
  for (size_t size : {300, 301, 302}) { // no padding, "==", "="
    Bytes data(size);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
    const auto text = base64_encode(data);
    for (size_t at = 0; at < text.size(); ++at) {
      for (int b : {0, int{'*'}, int{'-'}, int{'_'}, int{'.'}, 0x80, 0xff, int{'='}}) {
        std::string bad = text;
        if (bad[at] == '=') continue; // padding in its place
        bad[at] = static_cast<char>(b);
        if (b == '=' && text.size() - at <= 2 && text.find_first_not_of('=', at + 1) == std::string::npos)
          continue; // "xyz=" or "xy==": padding in its place is not stray
        INFO("size " << size << ", byte " << b << " at " << at);
        auto r = base64_decode(bad, "value", 1000);
        REQUIRE_FALSE(r);
        if (b != '=')
          CHECK_THAT(r.error().message, Catch::Contains("character at position " + std::to_string(1000 + at)));
      }
    }
    for (char space : {' ', '\t', '\n', '\v', '\f', '\r'}) {
      auto spaced = base64_decode(text.substr(0, 8) + space + text.substr(8));
      REQUIRE(spaced);
      CHECK(*spaced == data);
    }
  }
}

TEST_CASE("AtomicFile: nothing under the final name until commit") {
  TempDir dir;
  auto target = dir / "out.img";
  {
    AtomicFile f(target, 0600, Force::no);
    f.write("partial");
    CHECK_FALSE(fs::exists(target));
  }
  CHECK_FALSE(fs::exists(target));
  CHECK(fs::is_empty(dir.path()));
  {
    AtomicFile f(target, 0600, Force::no);
    f.write("complete");
    f.commit();
  }
  CHECK(*read_file(target) == "complete");
  struct stat st {};
  ::stat(target.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THROWS_WITH(AtomicFile(target, 0600, Force::no), Catch::Contains("already exists"));
  write_file_atomic(target, "replaced", 0644, Force::yes);
  CHECK(*read_file(target) == "replaced");
}

TEST_CASE("RealRunner: argv only, stdin, capture, exit status, timeout") {
  RealRunner runner;
  auto r = runner.run({{"sh", "-c", "read x; echo out:$x; echo err >&2; exit 3"}, "secret\n", true});
  REQUIRE(r);
  CHECK(r->exit_status == 3);
  CHECK(r->out == "out:secret\n");
  CHECK(r->err == "err\n");
  Command slow{{"sleep", "5"}};
  slow.timeout = std::chrono::milliseconds(200);
  auto t = runner.run(slow);
  REQUIRE(t);
  CHECK(t->timed_out);
  auto missing = runner.run({{"/nonexistent/tool"}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().category == Category::not_ready);
}

TEST_CASE("describe quotes words and never shows secret stdin") {
  Command c{{"cryptsetup", "open", "a b"}, "hunter2", true};
  CHECK(describe(c) == "cryptsetup open 'a b' < (7 bytes, secret)");
  RecordingRunner rec;
  (void)rec.run(c);
  CHECK(rec.commands().at(0).stdin_data == "*******");
}

TEST_CASE("Plan: dry run changes nothing; apply is idempotent; failure rolls back") {
  int state = 0;
  std::vector<std::string> undone;
  Plan plan;
  plan.add({"a", "file", "set a", {}, [&] { return state >= 1; }, [&] { state = 1; },
            [&] { undone.push_back("a"); state = 0; }});
  plan.add({"b", "file", "set b", {}, [&] { return state >= 2; }, [&] { state = 2; }, {}});
  NullProgress null;
  auto dry = plan.apply(DryRun::yes, null);
  CHECK(state == 0);
  CHECK(dry.steps[0].status == "planned");
  auto first = plan.apply(DryRun::no, null);
  CHECK(first.changed);
  CHECK(state == 2);
  auto second = plan.apply(DryRun::no, null);
  CHECK_FALSE(second.changed);
  CHECK(second.steps[1].status == "unchanged");

  state = 0;
  Plan failing;
  failing.add({"a", "file", "set a", {}, {}, [&] { state = 1; },
               [&] { undone.push_back("a"); state = 0; }});
  failing.add({"b", "file", "set b", {}, {},
               [] { throw Failure(Category::failed, "x", "boom"); }, {}});
  CHECK_THROWS_WITH(failing.apply(DryRun::no, null),
                    Catch::Contains("step 'set b' failed: boom") &&
                        Catch::Contains("rolled back 1"));
  CHECK(state == 0);
  CHECK(undone.back() == "a");
}

TEST_CASE("Root prefixes host paths and rejects a missing directory") {
  TempDir dir;
  tdx::test::put(dir.path(), "/sys/module/kvm_intel/parameters/tdx", "Y\n");
  auto root = Root::from_option(dir.path().string());
  CHECK(root.read_line("/sys/module/kvm_intel/parameters/tdx") == "Y");
  CHECK_FALSE(root.read("/nope"));
  CHECK(Root::from_option("/").path("/sys") == "/sys");
  CHECK_THROWS_WITH(Root::from_option((dir / "missing").string()),
                    Catch::Contains("no such directory"));
}

TEST_CASE("Secret comes from a file, drops one newline, refuses empty") {
  TempDir dir;
  tdx::test::put(dir.path(), "/seed", "abc\n");
  auto s = Secret::from_file((dir / "seed").string(), "miner seed");
  REQUIRE(s);
  CHECK(s->reveal() == "abc");
  tdx::test::put(dir.path(), "/empty", "");
  CHECK_FALSE(Secret::from_file((dir / "empty").string(), "miner seed"));
  CHECK_FALSE(Secret::from_file((dir / "none").string(), "miner seed"));
}
