#include "memscope/io/csv.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "memscope/core/error.h"
#include "memscope/io/atomic.h"

#include <fmt/format.h>

namespace memscope {

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream ss(line);
  while (std::getline(ss, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  for (auto& c : cells) {
    c.erase(0, c.find_first_not_of(" \t\r"));
    c.erase(c.find_last_not_of(" \t\r") + 1);
  }
  return cells;
}

bool parse_number(const std::string& s, double* out) {
  if (s.empty() || s == "nan" || s == "NaN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

torch::Tensor CsvTable::column(const std::string& name, const std::string& path) const {
  for (size_t j = 0; j < header.size(); ++j)
    if (header[j] == name) return values.select(1, int64_t(j));
  throw Error(str("csv: ", path, " has no column '", name, "'"));
}

CsvTable read_numeric_csv(const std::string& path) {
  const std::string text = read_file(path);
  std::istringstream in(text);
  std::string line;
  CsvTable t;
  std::vector<double> values;
  size_t cols = 0, rows = 0, line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::vector<std::string> cells = split(line);
    double first = 0;
    if (rows == 0 && t.header.empty() && !parse_number(cells[0], &first)) {
      t.header = cells;
      cols = cells.size();
      continue;
    }
    if (cols == 0) cols = cells.size();
    MEMSCOPE_CHECK(cells.size() == cols, "csv: ", path, " line ", line_no, " has ", cells.size(), " cells, expected ",
                   cols);
    for (size_t j = 0; j < cells.size(); ++j) {
      double v = 0;
      MEMSCOPE_CHECK(parse_number(cells[j], &v), "csv: ", path, " line ", line_no, " cell ", j + 1,
                     " is not a number: '", cells[j].substr(0, 40), "'");
      values.push_back(v);
    }
    ++rows;
  }
  MEMSCOPE_CHECK(rows > 0, "csv: ", path, " holds no rows of numbers");
  t.values = torch::tensor(values, torch::kFloat64).view({int64_t(rows), int64_t(cols)});
  return t;
}

CsvWriter::CsvWriter(const std::vector<std::string>& header, int digits, bool empty_non_finite)
    : digits_(digits), empty_non_finite_(empty_non_finite) {
  for (size_t k = 0; k < header.size(); ++k) text_ += header[k] + (k + 1 < header.size() ? "," : "\n");
}

void CsvWriter::add_double(double v) {
  if (!std::isfinite(v) && empty_non_finite_) return;
  text_ += fmt::format("{:.{}g}", v, digits_);
}

void CsvWriter::write(const std::string& path) const { write_atomic(path, text_); }

}  // namespace memscope
