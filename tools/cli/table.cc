#include "table.h"

#include <algorithm>

namespace stormkv::cli {

Table::Table(std::vector<std::string> headers, int left_columns)
    : headers_(std::move(headers)), left_columns_(left_columns) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::AddSeparator() { rows_.emplace_back(); }

std::string Table::Render(int indent) const {
  std::vector<std::size_t> width(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::size_t total = 0;
  for (std::size_t w : width) total += w;
  total += 2 * (width.empty() ? 0 : width.size() - 1);

  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l(indent, ' ');
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) l += "  ";
      std::string pad(width[c] - cells[c].size(), ' ');
      if (static_cast<int>(c) < left_columns_) {
        l += cells[c];
        if (c + 1 < cells.size()) l += pad;
      } else {
        l += pad + cells[c];
      }
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers_);
  for (const auto& row : rows_) {
    if (row.empty()) {
      out += std::string(indent, ' ') + std::string(total, '-') + "\n";
    } else {
      line(row);
    }
  }
  return out;
}

}  // namespace stormkv::cli
