// Fuzz target: redo log headers (MariaDB 10.8+ ib_logfile0, MySQL 8.0
// #ib_redoN) over arbitrary bytes: OK or an error with a message, no read
// outside the buffer, and an accepted header is consistent.
#include <cstdint>
#include <vector>

#include "datafile/redo.h"

using namespace keyring_locker::datafile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::vector<uint8_t> copy(data, data + size);
    auto h = ParseRedoHeader(ByteView{copy.empty() ? nullptr : copy.data(), copy.size()});
    if (!h.ok()) {
      if (h.status().message().empty()) __builtin_trap();
      return 0;
    }
    if (h->mysql) {
      if (size < kMySqlRedoHeaderSize || h->encrypted != h->mysql_info.has_value()) __builtin_trap();
      if (h->mysql_info) (void)MySqlMasterKeyName(*h->mysql_info);
    } else {
      if (size < kMariaRedoHeaderSize) __builtin_trap();
      if (h->encrypted && (h->key_id != kMariaRedoKeyId || h->key_version == 0)) __builtin_trap();
    }
    for (char c : h->creator) {
      if (c < 0x20 || c > 0x7E) __builtin_trap();  // nothing unprintable reaches a terminal
    }
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
