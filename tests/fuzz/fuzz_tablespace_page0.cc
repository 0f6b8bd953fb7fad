// Fuzz target: page 0 of a tablespace (MariaDB crypt_data, MySQL encryption
// information, FSP flags) and the per-page key version, over arbitrary bytes.
// The parser must answer OK or an error with a message, never read outside
// the buffer (ASan), and what it accepts must be self-consistent.
#include <cstdint>
#include <vector>

#include "datafile/tablespace.h"

using namespace keyring_locker::datafile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // An exact-size copy: any read past `size` lands outside the allocation.
    std::vector<uint8_t> copy(data, data + size);
    const ByteView view{copy.empty() ? nullptr : copy.data(), copy.size()};
    auto p = ParsePage0(view);
    if (!p.ok()) {
      if (p.status().message().empty()) __builtin_trap();
    } else {
      if (p->size.physical > size || p->size.physical < kMinPageSize || p->size.physical > p->size.logical) {
        __builtin_trap();
      }
      if (p->maria_crypt && p->mysql) __builtin_trap();
      if (p->maria_crypt && p->maria_crypt->iv_length != 16) __builtin_trap();
      if (p->mysql) (void)MySqlMasterKeyName(*p->mysql);
      // Later pages as they would be scanned.
      for (size_t off = p->size.physical; off < size; off += p->size.physical) {
        (void)PageKeyVersion(ByteView{copy.data() + off, size - off}, p->size);
      }
    }
    // The MySQL block parser at every small offset (headers are often cut).
    for (size_t off = 0; off < 8 && off <= size; ++off) (void)ParseMySqlEncryptionInfo(view, off);
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
