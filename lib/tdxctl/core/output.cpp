// Output formatting. nlohmann's ordered_json keeps keys in insertion order so
// the JSON reads in the same order as the text, and diffs stay stable.
#include "tdxctl/core/output.hpp"

#include "tdxctl/core/terminal_text.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

namespace tdx::core {

Output::Output(OutputFormat format) : Output(format, std::cout) {}
Output::Output(OutputFormat format, std::ostream& out) : m_format(format), m_out(&out) {}

void Output::emit(std::string_view schema, const Json& doc,
                  const std::function<void(std::ostream&)>& text) const {
  if (json()) {
    Json full;
    full["schema"] = schema;
    for (auto it = doc.begin(); it != doc.end(); ++it) full[it.key()] = it.value();
    // replace: a certificate name or peer string that is not UTF-8 must not abort the output.
    *m_out << full.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
  } else if (text) {
    // Escaped as a whole: renderers print names and messages from elsewhere.
    std::ostringstream rendered;
    text(rendered);
    *m_out << escape_control(rendered.str());
  }
  m_out->flush();
}

void Output::emit_error(const Error& error) const {
  if (!json()) return;
  Json doc;
  doc["schema"] = "tdxctl.error/1";
  doc["code"] = error.code;
  doc["category"] = category_name(error.category);
  doc["exit"] = exit_code(error.category);
  doc["message"] = error.message;
  doc["hint"] = error.hint;
  // replace: a message quoting a peer or file need not be UTF-8.
  *m_out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
  m_out->flush();
}

void Table::print(std::ostream& out, bool with_header) const {
  std::vector<size_t> width;
  for (const auto& r : m_rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (size_t n = with_header ? 0 : 1; n < m_rows.size(); ++n) {
    const auto& r = m_rows[n];
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

} // namespace tdx::core
