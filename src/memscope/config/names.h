#pragma once
// The text forms of the configuration's typed choices (as in flags, TOML and config.json) and their
// parsers: text becomes an enum here, once, at the boundary. A parser throws ConfigError naming the
// key and listing the accepted forms.
#include <string>

#include "memscope/core/config.h"

namespace memscope {

std::string to_string(const DataSource& s);
std::string to_string(Binarize b);
std::string to_string(const ModelFamily& f);
std::string to_string(Decoder d);
std::string to_string(ProgressMode p);
std::string to_string(Draw d);
std::string to_string(Design d);
std::string to_string(LiraVariance v);
std::string to_string(Schedule s);
std::string to_string(Sampler s);
DataSource parse_data_source(const std::string& text, const std::string& key = "data");
Binarize parse_binarize(const std::string& text, const std::string& key = "binarize");
ModelFamily parse_model_family(const std::string& text, const std::string& key = "model");
Decoder parse_decoder(const std::string& text, const std::string& key = "decoder");
ProgressMode parse_progress(const std::string& text, const std::string& key = "progress");
Draw parse_draw(const std::string& text, const std::string& key = "draw");
Design parse_design(const std::string& text, const std::string& key = "design");
LiraVariance parse_lira_variance(const std::string& text, const std::string& key = "lira_variance");
Schedule parse_schedule(const std::string& text, const std::string& key = "schedule");
Sampler parse_sampler(const std::string& text, const std::string& key = "sampler");

}  // namespace memscope
