// InnoDB tablespace page 0 (.ibd, ibdata1, undo tablespaces) as MariaDB 10.11
// and MySQL 8 write it, read without any key: page size from the FSP flags,
// MariaDB's crypt_data block or MySQL's encryption information, and (on
// request) the key version each later page was written with.
// Facts from MariaDB/server 10.11: storage/innobase/include/fsp0types.h (FSP
// flags), fil0fil.h (page header offsets), fil/fil0crypt.cc
// (fil_space_crypt_t::write_page0: the crypt_data layout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "datafile/bytes.h"
#include "datafile/mysql_encryption.h"

namespace keyring_locker::datafile {

// Offsets in every page (fil0fil.h).
constexpr size_t kFilPageOffset = 4;       // FIL_PAGE_OFFSET: page number
constexpr size_t kFilPageKeyVersion = 26;  // FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION (not full_crc32)
constexpr size_t kFilPageType = 24;
constexpr size_t kFilPageSpaceId = 34;
constexpr size_t kFspSpaceId = 38;     // FSP_HEADER_OFFSET + FSP_SPACE_ID
constexpr size_t kFspSpaceFlags = 54;  // FSP_HEADER_OFFSET + FSP_SPACE_FLAGS
constexpr uint16_t kFilPageTypeFspHdr = 8;
constexpr size_t kMinPageSize = 1024;   // smallest ROW_FORMAT=COMPRESSED page
constexpr size_t kMaxPageSize = 65536;

enum class PageFormat {
  kFullCrc32,  // MariaDB 10.5+ innodb_checksum_algorithm=full_crc32 (the default)
  kClassic,    // the MySQL 5.7-compatible flags (older MariaDB files, MySQL)
};

struct PageSize {
  PageFormat format = PageFormat::kClassic;
  size_t logical = 0;   // innodb_page_size of the server that made the file
  size_t physical = 0;  // bytes per page in the file (smaller when ROW_FORMAT=COMPRESSED)
  bool mysql_encryption_flag = false;  // MySQL's FSP_FLAGS_MASK_ENCRYPTION (bit 13)
  bool mysql_only_bits = false;        // bits only MySQL 5.7/8.0 set (SHARED/TEMPORARY/SDI...)
};

// Decodes FSP_SPACE_FLAGS; INVALID_ARGUMENT names the bad field.
StatusOr<PageSize> DecodeFspFlags(uint32_t flags);

// MariaDB crypt_data: magic "sCrypt"-like 6 bytes (0x73 0x0E 0x0C 0x52 0x45 0x74),
// type, iv length, iv, min_key_version, key_id, encryption mode.
enum class MariaEncryptionMode { kDefault = 0, kOn = 1, kOff = 2 };
struct MariaCryptData {
  uint8_t type = 0;  // 0 CRYPT_SCHEME_UNENCRYPTED, 1 CRYPT_SCHEME_1
  uint8_t iv_length = 0;
  uint32_t min_key_version = 0;
  uint32_t key_id = 0;
  MariaEncryptionMode mode = MariaEncryptionMode::kDefault;
  bool encrypted() const { return type == 1; }
};
const char* ModeName(MariaEncryptionMode m);

struct Page0 {
  uint32_t space_id = 0;
  uint32_t flags = 0;
  PageSize size;
  std::optional<MariaCryptData> maria_crypt;   // MariaDB files with crypt_data
  std::optional<MySqlEncryptionInfo> mysql;    // MySQL files with encryption info
  bool from_mysql() const { return mysql.has_value() || size.mysql_encryption_flag || size.mysql_only_bits; }
};

// Reads FSP_SPACE_FLAGS from the start of a file; callers then read
// PageSize::physical bytes and call ParsePage0.
StatusOr<PageSize> PeekPageSize(ByteView start);
// `page` holds at least one physical page from the start of the file.
StatusOr<Page0> ParsePage0(ByteView page);

// The key version a page (other than page 0) was written with: 0 when the page
// is not encrypted. Pages of never-used space are all zeros and answer 0 too.
uint32_t PageKeyVersion(ByteView page, const PageSize& size);

}  // namespace keyring_locker::datafile
