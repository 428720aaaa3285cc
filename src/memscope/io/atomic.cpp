#include "memscope/io/atomic.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "memscope/core/error.h"

namespace memscope {

namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw Error(str("cannot open ", path, " to sync it: ", std::strerror(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0 && !directory) throw Error(str("cannot sync ", path, ": ", std::strerror(err)));
}

}  // namespace

void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  static std::atomic<uint64_t> counter{0};
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string tmp = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                                  std::to_string(counter++)))
                              .string();
  try {
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      if (!os) throw Error(str("cannot write ", path, ": ", std::strerror(errno)));
      // A failed write leaves errno (ENOSPC, EROFS, EDQUOT, EIO) from the write(2) that failed.
      auto failed = [&](const std::string& why) {
        const int err = errno;
        return Error(str("cannot write ", path, ": ", err ? std::strerror(err) : why.c_str()));
      };
      errno = 0;
      try {
        fill(os);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {  // e.g. LibTorch's serializer on a stream gone bad
        const std::string what = e.what();
        if (os) throw Error(str("cannot write ", path, ": ", what.substr(0, what.find('\n'))));
        throw failed("write failed");
      }
      if (!os) throw failed("write failed");
      os.flush();
      if (!os) throw failed("write failed");
      os.close();
      if (!os) throw failed("close failed");
    }
    fsync_path(tmp, false);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(str("cannot write ", path, ": rename failed: ", std::strerror(errno)));
    fsync_path(dir.string(), true);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_atomic(const std::string& path, const std::string& content) {
  write_atomic(path, [&](std::ostream& os) { os.write(content.data(), std::streamsize(content.size())); });
}

int remove_stale_temporaries(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t tmp = name.rfind(".tmp.");
    if (name.empty() || name[0] != '.' || tmp == std::string::npos) continue;
    const std::string rest = name.substr(tmp + 5);
    const long pid = std::strtol(rest.c_str(), nullptr, 10);
    if (pid <= 0 || (::kill(pid_t(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code rm;
      if (fs::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

std::string read_file(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  MEMSCOPE_CHECK(is, "cannot read ", path, ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << is.rdbuf();
  MEMSCOPE_CHECK(!is.bad(), "cannot read ", path);
  return ss.str();
}

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(str(path, ": not valid JSON (", e.what(), ")"));
  }
}

nlohmann::json read_json_object(const std::string& path) {
  nlohmann::json j = read_json(path);
  MEMSCOPE_CHECK(j.is_object(), path, ": expected a JSON object, got ", j.type_name());
  return j;
}

std::string json_string(const nlohmann::json& obj, const std::string& key, const std::string& path,
                        const std::string& fallback) {
  const auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  MEMSCOPE_CHECK(it->is_string(), path, ": '", key, "' should be a string, got ", it->type_name());
  return it->get<std::string>();
}

}  // namespace memscope
