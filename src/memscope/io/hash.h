#pragma once
// SHA-256 (OpenSSL) of bytes, as the 64 hex digits Python's hashlib.sha256(...).hexdigest() gives.
#include <cstddef>
#include <string>

namespace memscope {

std::string sha256_hex(const void* data, size_t bytes);

}  // namespace memscope
