#pragma once
// One document on stdout per invocation: human text, or with --output json a
// single JSON object carrying a versioned "schema" id. Logs and progress go
// to stderr, never here, so `tdxctl ... -o json | jq` always works.

#include "tdxctl/core/error.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <iosfwd>
#include <string_view>

namespace tdx::core {

using Json = nlohmann::ordered_json;

enum class OutputFormat { text, json };

class Output {
public:
  explicit Output(OutputFormat format = OutputFormat::text);
  Output(OutputFormat format, std::ostream& out);

  bool json() const { return m_format == OutputFormat::json; }
  OutputFormat format() const { return m_format; }

  // In json mode prints {"schema": schema, ...doc}; in text mode calls `text`.
  void emit(std::string_view schema, const Json& doc,
            const std::function<void(std::ostream&)>& text) const;
  // The error document (json mode) or nothing (text mode: main prints to stderr).
  void emit_error(const Error& error) const;

private:
  OutputFormat m_format;
  std::ostream* m_out;
};

// Aligned columns with a header, virsh-list style.
class Table {
public:
  explicit Table(std::vector<std::string> headers) : m_rows{std::move(headers)} {}
  void row(std::vector<std::string> cells) { m_rows.push_back(std::move(cells)); }
  void print(std::ostream& out, bool with_header = true) const;

private:
  std::vector<std::vector<std::string>> m_rows;
};

} // namespace tdx::core
