#pragma once
// CSV files: numeric tables read (data sets, --data csv:FILE; score tables read back for
// comparisons), and every table memscope writes.
#include <torch/torch.h>

#include <string>
#include <type_traits>
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

/// A CSV table built row by row and written atomically. Integers are written as they are, strings
/// unquoted (they must hold no comma), doubles with `digits` significant digits ("%.{digits}g"),
/// and non-finite doubles as "nan"/"inf"/"-inf", or as empty cells when empty_non_finite.
class CsvWriter {
 public:
  explicit CsvWriter(const std::vector<std::string>& header, int digits = 9, bool empty_non_finite = false);
  template <typename... Cells>
  void row(const Cells&... cells) {
    size_t k = 0;
    ((add(cells), text_ += (++k < sizeof...(Cells) ? "," : "\n")), ...);
  }
  /// A row of cells followed by the numbers of tail (columns added at run time); tail not empty.
  template <typename... Cells>
  void row_and(const std::vector<double>& tail, const Cells&... cells) {
    ((add(cells), text_ += ","), ...);
    for (size_t k = 0; k < tail.size(); ++k) add_double(tail[k]), text_ += k + 1 < tail.size() ? "," : "\n";
  }
  /// The table as text.
  const std::string& text() const { return text_; }
  /// Writes the table to path atomically (write_atomic).
  void write(const std::string& path) const;

 private:
  template <typename T>
  void add(const T& v) {
    if constexpr (std::is_floating_point_v<T>)
      add_double(double(v));
    else if constexpr (std::is_integral_v<T>)
      text_ += std::to_string(v);
    else
      text_ += std::string(v);
  }
  void add_double(double v);
  std::string text_;
  int digits_;
  bool empty_non_finite_;
};

}  // namespace memscope
