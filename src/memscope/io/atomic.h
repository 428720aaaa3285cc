#pragma once
// Atomic file writes: a reader (or a resumed run) sees either the old file or the whole new one.
#include <functional>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

namespace memscope {

/// Writes what fill puts into the stream to a temporary file beside path, fsyncs it, renames it
/// over path and fsyncs the directory. Throws memscope::Error naming path on any failure (full
/// disk, read-only directory), leaving no temporary file behind.
void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill);
void write_atomic(const std::string& path, const std::string& content);

/// Removes the temporary files write_atomic leaves when its process is killed (".NAME.tmp.PID.N"
/// whose PID no longer runs) in dir and its subdirectories. Returns how many it removed.
int remove_stale_temporaries(const std::string& dir);

/// The whole file as a string; throws memscope::Error naming path when it cannot be read.
std::string read_file(const std::string& path);
/// The file parsed as JSON; throws memscope::Error naming path when it cannot be read or parsed.
nlohmann::json read_json(const std::string& path);
/// read_json for files that must hold a JSON object (config.json, result.json); throws
/// memscope::Error naming path when the file holds another JSON value.
nlohmann::json read_json_object(const std::string& path);
/// obj[key] as a string, fallback when obj (an object) has no key; throws memscope::Error naming
/// path and key when the value is not a string.
std::string json_string(const nlohmann::json& obj, const std::string& key, const std::string& path,
                        const std::string& fallback = "");

}  // namespace memscope
