#include "memscope/io/hash.h"

#include <openssl/evp.h>

#include "memscope/core/error.h"

namespace memscope {

std::string sha256_hex(const void* data, size_t bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  MEMSCOPE_CHECK(EVP_Digest(data, bytes, digest, &length, EVP_sha256(), nullptr) == 1, "sha256: OpenSSL failed");
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned int k = 0; k < length; ++k) text += {hex[digest[k] >> 4], hex[digest[k] & 15]};
  return text;
}

}  // namespace memscope
