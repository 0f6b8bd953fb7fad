#include "datafile/tablespace.h"

namespace keyring_locker::datafile {

namespace {
// fil0crypt.cc CRYPT_MAGIC.
constexpr uint8_t kCryptMagic[6] = {'s', 0xE, 0xC, 'R', 'E', 't'};
constexpr uint8_t kCryptSchemeIvLength = 16;  // CRYPT_SCHEME_1_IV_LEN
constexpr size_t kCryptDataSize = 6 + 11 + kCryptSchemeIvLength;
constexpr size_t kMariaCryptExtraOffset = 38;  // FSP_HEADER_OFFSET, added twice
constexpr uint16_t kFilPagePageCompressed = 34354;  // FIL_PAGE_PAGE_COMPRESSED: offset 26 is the algorithm

// fsp0types.h, classic layout: POST_ANTELOPE bit 0, ZIP_SSIZE bits 1-4,
// ATOMIC_BLOBS bit 5, PAGE_SSIZE bits 6-9, RESERVED bits 10-15 (MySQL's
// DATA_DIR, SHARED, TEMPORARY, ENCRYPTION, SDI), PAGE_COMPRESSION bit 16.
// full_crc32: PAGE_SSIZE bits 0-3, MARKER bit 4, COMPRESSED_ALGO bits 5-7.
constexpr uint32_t kFcrc32Marker = 1u << 4;
constexpr uint32_t kMySqlEncryptionBit = 1u << 13;

size_t SizeFromSsize(uint32_t ssize) { return size_t{512} << ssize; }  // (UNIV_ZIP_SIZE_MIN >> 1) << ssize
}  // namespace

const char* ModeName(MariaEncryptionMode m) {
  switch (m) {
    case MariaEncryptionMode::kDefault: return "DEFAULT";
    case MariaEncryptionMode::kOn: return "ON";
    case MariaEncryptionMode::kOff: return "OFF";
  }
  return "?";
}

StatusOr<PageSize> DecodeFspFlags(uint32_t flags) {
  PageSize s;
  if (flags & kFcrc32Marker) {
    s.format = PageFormat::kFullCrc32;
    const uint32_t ssize = flags & 0xF;
    if (ssize < 3 || ssize > 7) {
      return InvalidArgument("full_crc32 page size field " + std::to_string(ssize) + " is not 3..7 (4K..64K)");
    }
    if (flags >> 8) return InvalidArgument("full_crc32 flags have bits above bit 7 set");
    if (((flags >> 5) & 7) > 6) return InvalidArgument("full_crc32 compression algorithm field is out of range");
    s.logical = s.physical = SizeFromSsize(ssize);
    return s;
  }
  s.format = PageFormat::kClassic;
  const bool post_antelope = flags & 1;
  const uint32_t zip_ssize = (flags >> 1) & 0xF;
  const bool atomic_blobs = (flags >> 5) & 1;
  const uint32_t page_ssize = (flags >> 6) & 0xF;
  const uint32_t reserved = (flags >> 10) & 0x3F;
  if (flags >> 17) return InvalidArgument("page flags have bits above bit 16 set");
  if (page_ssize != 0 && (page_ssize < 3 || page_ssize > 7)) {
    return InvalidArgument("page size field " + std::to_string(page_ssize) + " is not 0 or 3..7");
  }
  s.logical = page_ssize == 0 ? 16384 : SizeFromSsize(page_ssize);
  if (zip_ssize > 5) return InvalidArgument("compressed page size field " + std::to_string(zip_ssize) + " is above 5");
  if (zip_ssize != 0 && (!post_antelope || !atomic_blobs)) {
    return InvalidArgument("compressed page size set without the row-format bits that go with it");
  }
  if (!post_antelope && atomic_blobs) return InvalidArgument("ATOMIC_BLOBS set without POST_ANTELOPE");
  s.physical = zip_ssize == 0 ? s.logical : SizeFromSsize(zip_ssize);
  if (s.physical > s.logical) return InvalidArgument("compressed page size is larger than the page size");
  s.mysql_encryption_flag = flags & kMySqlEncryptionBit;
  s.mysql_only_bits = reserved != 0;
  return s;
}

StatusOr<PageSize> PeekPageSize(ByteView start) {
  uint32_t flags = 0;
  if (!start.Be32(kFspSpaceFlags, flags)) {
    return DataLoss("not an InnoDB tablespace or redo log: only " + std::to_string(start.size) + " bytes");
  }
  auto s = DecodeFspFlags(flags);
  if (!s.ok()) return DataLoss("not an InnoDB tablespace: " + s.status().message());
  return s;
}

StatusOr<Page0> ParsePage0(ByteView page) {
  Page0 p;
  ASSIGN_OR_RETURN(p.size, PeekPageSize(page));
  if (!page.Has(0, p.size.physical)) {
    return DataLoss("file is " + std::to_string(page.size) + " bytes, shorter than its first page (" +
                    std::to_string(p.size.physical) + "): truncated copy?");
  }
  page.size = p.size.physical;  // nothing beyond page 0 is read from here on
  uint32_t page_no = 0, header_space = 0;
  uint16_t type = 0;
  (void)page.Be32(kFspSpaceFlags, p.flags);
  (void)page.Be32(kFilPageOffset, page_no);
  (void)page.Be16(kFilPageType, type);
  (void)page.Be32(kFilPageSpaceId, header_space);
  (void)page.Be32(kFspSpaceId, p.space_id);
  if (page_no != 0 || type != kFilPageTypeFspHdr) {
    return DataLoss("not an InnoDB tablespace: the first page is not an FSP header page (page number " +
                    std::to_string(page_no) + ", type " + std::to_string(type) + ")");
  }
  if (header_space != p.space_id) {
    return DataLoss("page 0 names two space ids (" + std::to_string(header_space) + " and " +
                    std::to_string(p.space_id) + "): damaged page 0");
  }
  const size_t mysql_offset = Page0EncryptionOffset(p.size.logical, p.size.physical);
  if (mysql_offset == 0) return DataLoss("page sizes " + std::to_string(p.size.logical) + "/" +
                                         std::to_string(p.size.physical) + " have no encryption-information offset");
  // MariaDB's write_page0() adds FSP_HEADER_OFFSET to an offset that already
  // starts past it, so crypt_data sits 38 bytes after MySQL's block (checked
  // against files written by mariadbd 10.11).
  const size_t offset = mysql_offset + kMariaCryptExtraOffset;
  if (page.Equals(offset, kCryptMagic, sizeof kCryptMagic)) {
    if (!page.Has(offset, kCryptDataSize)) return DataLoss("crypt_data runs past the end of page 0");
    const uint8_t* b = page.data + offset + sizeof kCryptMagic;
    MariaCryptData c;
    c.type = b[0];
    c.iv_length = b[1];
    if (c.type > 1) return DataLoss("crypt_data type " + std::to_string(c.type) + " is unknown (0 or 1 expected)");
    if (c.iv_length != kCryptSchemeIvLength) {
      return DataLoss("crypt_data IV length " + std::to_string(c.iv_length) + " is not 16: damaged page 0");
    }
    const size_t after_iv = offset + sizeof kCryptMagic + 2 + c.iv_length;
    uint8_t mode = 0;
    (void)page.Be32(after_iv, c.min_key_version);
    (void)page.Be32(after_iv + 4, c.key_id);
    mode = page.data[after_iv + 8];
    if (mode > 2) return DataLoss("crypt_data encryption mode " + std::to_string(mode) + " is not 0..2");
    c.mode = static_cast<MariaEncryptionMode>(mode);
    p.maria_crypt = c;
    return p;
  }
  auto mysql = ParseMySqlEncryptionInfo(page, mysql_offset);
  if (mysql.ok()) {
    p.mysql = std::move(mysql).value();
  } else if (mysql.status().code() != Code::kNotFound) {
    return mysql.status();
  } else if (p.size.mysql_encryption_flag) {
    return DataLoss("the ENCRYPTION flag is set but page 0 has no encryption information: damaged page 0");
  }
  return p;
}

uint32_t PageKeyVersion(ByteView page, const PageSize& size) {
  uint32_t v = 0;
  if (size.format == PageFormat::kFullCrc32) {
    (void)page.Be32(0, v);  // FIL_PAGE_FCRC32_KEY_VERSION
    return v;
  }
  uint16_t type = 0;
  if (!page.Be16(kFilPageType, type) || type == kFilPagePageCompressed) return 0;
  (void)page.Be32(kFilPageKeyVersion, v);
  return v;
}

}  // namespace keyring_locker::datafile
