// The Python module memscope: plans out, banks in. Every statistic is the program's own C++ (pipeline/bank.h,
// plan/plan.h); options are parsed by the program's option tables, so a keyword is a flag of `memscope score`
// (fdr=0.1 is --fdr 0.1) with the same checks and one-line messages.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "memscope/config/names.h"
#include "memscope/core/error.h"
#include "memscope/core/version.h"
#include "memscope/pipeline/bank.h"
#include "memscope/pipeline/plan_files.h"
#include "memscope/pipeline/run_layout.h"
#include "memscope/plan/plan.h"
#include "memscope/score/membership_json.h"
#include "memscope/score/score_columns.h"

namespace py = pybind11;

namespace {

/// The flags a dict of keywords stands for, as toml_to_flags makes them: key=value -> --key value (lists
/// comma-joined, True -> --key, False -> --key=false).
std::vector<std::string> flags_of(const py::dict& options) {
  std::vector<std::string> flags;
  for (const auto& [k, v] : options) {
    const std::string flag = memscope::flag_of(py::str(k));
    if (py::isinstance<py::bool_>(v)) {
      flags.push_back(v.cast<bool>() ? flag : flag + "=false");
      continue;
    }
    std::string value;
    if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
      for (const auto& e : v) value += (value.empty() ? "" : ",") + std::string(py::str(e));
    } else {
      value = py::str(v);
    }
    flags.push_back(flag);
    flags.push_back(value);
  }
  return flags;
}

/// The command line `memscope command fixed... options...` parsed by the program's tables; a bad option raises
/// memscope.Error with the program's message.
memscope::cli::Command parse(const std::string& command, std::vector<std::string> fixed, const py::dict& options) {
  std::vector<std::string> args = {command};
  args.insert(args.end(), fixed.begin(), fixed.end());
  for (const std::string& f : flags_of(options)) args.push_back(f);
  std::string shown;
  try {
    return memscope::cli::parse(args, &shown);
  } catch (const memscope::ConfigError& e) {
    throw memscope::Error(memscope::flag_of(e.key()).substr(2) + std::string(e.what()).substr(e.key().size()));
  } catch (const std::exception& e) {  // CLI11's errors name the flag
    std::string what = e.what();
    throw memscope::Error(what.substr(0, what.find('\n')));
  }
}

/// The numpy array `obj` (None: undefined) as a tensor, without a copy where its dtype is one of dtypes and it is
/// C-contiguous; otherwise converted (a copy) to the first of them where numpy's kind of its dtype is one of kinds
/// ('f' float, 'b' bool, 'u' unsigned, 'i' signed), or refused naming the argument. Keeps the array alive in holder.
torch::Tensor as_tensor(const char* name, const py::handle& obj, const std::vector<torch::Dtype>& dtypes,
                        const std::string& kinds, std::vector<py::array>& holder) {
  if (obj.is_none()) return {};
  py::array a = py::array::ensure(obj);
  if (!a) throw memscope::Error(memscope::str(name, ": expected a numpy array, got ", std::string(py::str(py::type::of(obj)))));
  static const std::vector<std::pair<torch::Dtype, py::dtype>> types = {
      {torch::kFloat32, py::dtype::of<float>()},  {torch::kFloat64, py::dtype::of<double>()},
      {torch::kBool, py::dtype::of<bool>()},      {torch::kUInt8, py::dtype::of<uint8_t>()},
      {torch::kInt32, py::dtype::of<int32_t>()},  {torch::kInt64, py::dtype::of<int64_t>()}};
  auto numpy = [](torch::Dtype t) {
    for (const auto& [torch_type, np_type] : types)
      if (torch_type == t) return np_type;
    throw memscope::Error("no numpy type");
  };
  auto fitting = std::find_if(dtypes.begin(), dtypes.end(), [&](torch::Dtype t) { return a.dtype().is(numpy(t)); });
  if (fitting == dtypes.end() && kinds.find(a.dtype().kind()) == std::string::npos)
    throw memscope::Error(memscope::str(name, ": numpy dtype ", std::string(py::str(a.dtype())), " is not accepted (",
                              std::string(py::str(numpy(dtypes[0]))), " expected)"));
  const torch::Dtype dtype = fitting == dtypes.end() ? dtypes[0] : *fitting;
  if (fitting == dtypes.end() || !(a.flags() & py::array::c_style))
    a = py::array(py::module_::import("numpy").attr("ascontiguousarray")(a, numpy(dtype)));
  holder.push_back(a);
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  return torch::from_blob(const_cast<void*>(a.data()), shape, dtype);
}

py::object from_json(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::array_t<double> column(const std::vector<double>& v) { return py::array_t<double>(v.size(), v.data()); }

/// The columns of scores.csv as numpy arrays (n_in and n_out as integers).
py::dict scores_dict(const memscope::Scores& s) {
  py::dict d;
  for (const auto& [name, values] : memscope::score_columns(s)) {
    if (name == "n_in" || name == "n_out") {
      const std::vector<int64_t> counts(values.begin(), values.end());
      d[name.c_str()] = py::array_t<int64_t>(counts.size(), counts.data());
    } else {
      d[name.c_str()] = column(values);
    }
  }
  return d;
}

/// The bank of the arguments, its options parsed as `memscope score`'s.
struct Call {
  memscope::BankArrays bank;
  memscope::cli::Command cmd;
  std::vector<py::array> holder;
};

Call bank_call(const py::handle& logp, const py::handle& mask, const py::handle& images, const py::handle& labels,
               const std::string& statistic, const std::string& direction, const std::string& plan_sha256,
               py::dict options) {
  Call c;
  c.cmd = parse("score", {"--bank", "."}, options);
  memscope::BankArrays& b = c.bank;
  b.stat = as_tensor("logp", logp, {torch::kFloat32, torch::kFloat64}, "f", c.holder);
  b.mask = as_tensor("mask", mask, {torch::kBool, torch::kUInt8, torch::kInt64, torch::kInt32}, "bui", c.holder);
  b.labels = as_tensor("labels", labels, {torch::kInt64, torch::kInt32}, "ui", c.holder);
  b.images = as_tensor("images", images, {torch::kFloat32, torch::kUInt8, torch::kFloat64}, "f", c.holder);
  b.statistic = statistic;
  if (!direction.empty()) b.direction = memscope::parse_choice<memscope::Direction>(direction);
  b.plan_sha256 = plan_sha256;
  return c;
}

py::dict outcome_dict(const memscope::BankOutcome& o) {
  py::dict d;
  d["scores"] = scores_dict(o.scores);
  d["membership"] = from_json(memscope::to_json(o.membership));
  d["reliability"] = o.reliability ? from_json(memscope::to_json(*o.reliability)) : py::none();
  d["memorized"] = memscope::discoveries(o.scores, o.membership.fdr);
  d["statistic"] = o.statistic;
  d["examples"] = o.examples;
  d["models"] = o.models;
  d["seconds"] = o.seconds;
  if (!o.out.empty()) {
    const memscope::RunLayout files(o.out);
    d["report"] = o.report_error.empty() ? py::object(py::str(files.report())) : py::none();
    d["report_error"] = o.report_error;
  }
  return d;
}

}  // namespace

PYBIND11_MODULE(memscope, m) {
  m.doc() =
      "memscope: which training examples has a generative model memorized? Plans for your own training code "
      "(plan), and the scores, membership tests and report of the bank of models you bring back (score, report).";
  m.attr("__version__") = memscope::kVersion;
  static py::exception<memscope::Error> error(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const memscope::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    } catch (const c10::Error& e) {
      PyErr_SetString(error.ptr(), e.what_without_backtrace());
    }
  });
  m.def(
      "plan",
      [](int64_t n, py::kwargs options) {
        if (n < 1) throw memscope::Error("plan: n = " + std::to_string(n) + "; a plan needs at least one example");
        const memscope::cli::Command cmd = parse("plan", {"--out", ".", "--n", std::to_string(n)}, options);
        const torch::Tensor mask = memscope::make_plan(n, cmd.run.plan, cmd.run.seed).in_mask().contiguous();
        py::array_t<bool> out({mask.size(0), mask.size(1)});
        std::memcpy(out.mutable_data(), mask.data_ptr<bool>(), size_t(mask.numel()));
        return out;
      },
      py::arg("n"),
      "The [N, J] bool mask of a design (mask[i, j]: model j trains on example i), as `memscope plan --n N` "
      "writes it and `memscope run` trains it. Keywords are the design options of `memscope plan`: design='kfold' "
      "| 'subsets', folds, repeats, models, subset_fraction, subset_blocks, seed.");
  m.def(
      "mask_sha256",
      [](const py::handle& mask) {
        std::vector<py::array> holder;
        return memscope::mask_sha256(as_tensor("mask", mask, {torch::kBool, torch::kUInt8}, "bui", holder));
      },
      py::arg("mask"), "The SHA-256 of a mask as plan.json records it (mask_sha256).");
  const char* options_doc =
      "logp: [N, J] or [E, N, J] float32/float64 (read without a copy; NaN: a missing model); mask: [N, J] bool or "
      "0/1; images: [N, C, H, W] (C = 1 or 3) uint8 or float in [0, 1]; labels: [N] integers. statistic: "
      "'log-likelihood' (M), or another statistic's name (a loss: direction='lower'), scored as its in-minus-out "
      "difference. plan_sha256: the plan's mask hash the mask must match. Keywords are the options of `memscope "
      "score` (fdr, null_draws, lira_variance, rmia_gamma). The GIL is released while computing.";
  m.def(
      "score",
      [](const py::handle& logp, const py::handle& mask, const py::handle& images, const py::handle& labels,
         const std::string& statistic, const std::string& direction, const std::string& plan_sha256,
         py::kwargs options) {
        Call c = bank_call(logp, mask, images, labels, statistic, direction, plan_sha256, options);
        memscope::BankOutcome o;
        {
          py::gil_scoped_release release;
          o = memscope::score_bank(c.bank, c.cmd.run.membership, c.cmd.run.analysis);
        }
        return outcome_dict(o);
      },
      py::arg("logp"), py::arg("mask"), py::arg("images") = py::none(), py::arg("labels") = py::none(),
      py::arg("statistic") = memscope::kLogLikelihood, py::arg("direction") = "", py::arg("plan_sha256") = "",
      (std::string("Scores a bank: a dict with 'scores' (numpy columns as scores.csv), 'membership' (as "
                   "membership.json), 'reliability', 'memorized'. ") +
       options_doc)
          .c_str());
  m.def(
      "report",
      [](const py::handle& logp, const py::handle& mask, const std::string& out, const py::handle& images,
         const py::handle& labels, const std::string& statistic, const std::string& direction,
         const std::string& plan_sha256, py::kwargs options) {
        Call c = bank_call(logp, mask, images, labels, statistic, direction, plan_sha256, options);
        c.bank.source = out;
        memscope::BankOutcome o;
        {
          py::gil_scoped_release release;
          o = memscope::score_bank(c.bank, c.cmd.run.membership, c.cmd.run.analysis);
          memscope::write_bank_results(o, out);
        }
        return outcome_dict(o);
      },
      py::arg("logp"), py::arg("mask"), py::arg("out"), py::arg("images") = py::none(), py::arg("labels") = py::none(),
      py::arg("statistic") = memscope::kLogLikelihood, py::arg("direction") = "", py::arg("plan_sha256") = "",
      (std::string("As score, and writes scores.csv, membership.json, report.html and summary.json into out. ") +
       options_doc)
          .c_str());
}
