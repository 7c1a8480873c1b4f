// tools/cli/table.h — plain-text tables for terminal reports.
#ifndef STORMKV_TOOLS_CLI_TABLE_H_
#define STORMKV_TOOLS_CLI_TABLE_H_

#include <string>
#include <vector>

namespace stormkv::cli {

// A table of text cells rendered with aligned columns:
//
//   family        keys     bytes  bytes/key  share
//   dedup          412   98.1 KB        244  71.2%
//
// Columns are right-aligned unless marked left-aligned (the first column by default). A separator
// row (AddSeparator) renders as dashes across every column.
class Table {
 public:
  // `headers` fixes the number of columns. `left_columns`: how many leading columns are
  // left-aligned.
  explicit Table(std::vector<std::string> headers, int left_columns = 1);

  // Adds a row; missing cells are empty, extra cells are ignored.
  void AddRow(std::vector<std::string> cells);
  void AddSeparator();

  // The whole table, each line indented by `indent` spaces and ended by '\n'.
  std::string Render(int indent = 2) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a separator
  int left_columns_;
};

}  // namespace stormkv::cli

#endif  // STORMKV_TOOLS_CLI_TABLE_H_
