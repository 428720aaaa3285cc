#pragma once
// Numeric CSV files: data sets (--data csv:FILE) and score tables read back for comparisons.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace memscope {

struct CsvTable {
  /// Column names, when the first row is a header (its first cell is not a number).
  std::vector<std::string> header;
  /// [rows, columns] float64; empty cells and "nan" are NaN.
  torch::Tensor values;
  /// The column named name; throws memscope::Error naming the file when there is none.
  torch::Tensor column(const std::string& name, const std::string& path) const;
};

/// Reads a comma-separated file of numbers. Throws memscope::Error naming the file, line and cell
/// for a non-numeric cell or a row of another length.
CsvTable read_numeric_csv(const std::string& path);

}  // namespace memscope
