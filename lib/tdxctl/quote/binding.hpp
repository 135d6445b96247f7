#pragma once
// What makes a fetched quote evidence: its REPORTDATA must be the value this
// very request asked for (`quote fetch`: SHA-512(nonce || "tdxctl-fetch") over
// vsock/UNIX, nonce || SHA-256(TLS SPKI) from an attestation service). A quote
// that does not carry it may be a recording or belong to another channel, so
// `quote fetch` checks it always, with or without --verify, before it writes.

#include "tdxctl/core/error.hpp"
#include "tdxctl/quote/quote.hpp"

#include <span>

namespace tdx::quote {

// Parses `bytes` and compares REPORTDATA with `expected`. A quote that does
// not parse or has no TD/enclave report, or a mismatch (quote.unbound, naming
// both values), is a failed operation (exit 1): the peer sent bad evidence.
core::Result<Quote> check_report_data_binding(std::span<const uint8_t> bytes, const Blob<64>& expected);

} // namespace tdx::quote
