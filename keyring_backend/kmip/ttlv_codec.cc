// TTLV encoder and decoder (KMIP 1.x spec 9.1.1).
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "keyring_backend/kmip/ttlv.h"

namespace keyring_locker::kmip {
namespace {

constexpr uint64_t kMaxItemLength = 0xFFFFFFFFu;  // the length field is 4 bytes

uint64_t Padded(uint64_t n) { return (n + 7) / 8 * 8; }

bool IsValidTag(Tag t) {
  const uint32_t top = t >> 16;
  return t <= 0xFFFFFF && (top == 0x42 || top == 0x54);
}

// The value length a fixed-size type must have; 0 for variable lengths.
uint32_t FixedLength(ItemType type) {
  switch (type) {
    case ItemType::kInteger:
    case ItemType::kEnumeration:
    case ItemType::kInterval:
      return 4;
    case ItemType::kLongInteger:
    case ItemType::kBoolean:
    case ItemType::kDateTime:
      return 8;
    default:
      return 0;
  }
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  return buf;
}

void PutBe(uint8_t* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t GetBe(const uint8_t* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in[i];
  return v;
}

// ---- encoding ----

// Length of the value (before padding).
StatusOr<uint64_t> ValueLength(const TtlvItem& item) {
  if (!IsValidTag(item.tag())) {
    return InvalidArgument(Format("cannot encode tag 0x%06" PRIX32 ": KMIP tags are 0x42xxxx or 0x54xxxx", item.tag()));
  }
  if (item.type() != ItemType::kStructure && !item.children().empty()) {
    return InvalidArgument(item.Name() + " is a " + ItemTypeName(item.type()) + " and cannot hold children");
  }
  if (const uint32_t fixed = FixedLength(item.type())) return fixed;
  switch (item.type()) {
    case ItemType::kTextString:
      return item.text().size();
    case ItemType::kByteString:
      return item.bytes().size();
    case ItemType::kBigInteger:
      if (item.bytes().empty() || item.bytes().size() % 8 != 0) {
        return InvalidArgument(Format("%s: a Big Integer is sign-extended to a multiple of 8 bytes, not %zu",
                                      item.Name().c_str(), item.bytes().size()));
      }
      return item.bytes().size();
    case ItemType::kStructure: {
      uint64_t total = 0;
      for (const TtlvItem& child : item.children()) {
        ASSIGN_OR_RETURN(uint64_t len, ValueLength(child));
        total += kTtlvHeaderBytes + Padded(len);
        if (total > kMaxItemLength) break;
      }
      return total;
    }
    default:
      return InvalidArgument(item.Name() + " has an unknown item type");
  }
}

// Writes the item at `out` (which has room for it) and returns the bytes written.
size_t Write(const TtlvItem& item, uint64_t value_len, uint8_t* out) {
  PutBe(out, item.tag(), 3);
  out[3] = static_cast<uint8_t>(item.type());
  PutBe(out + 4, value_len, 4);
  uint8_t* v = out + kTtlvHeaderBytes;
  switch (item.type()) {
    case ItemType::kStructure: {
      size_t at = 0;
      for (const TtlvItem& child : item.children()) {
        // Lengths were validated by ValueLength before the buffer was sized.
        const uint64_t child_len = ValueLength(child).value();
        at += Write(child, child_len, v + at);
      }
      break;
    }
    case ItemType::kTextString:
      if (!item.text().empty()) std::memcpy(v, item.text().data(), item.text().size());
      break;
    case ItemType::kByteString:
    case ItemType::kBigInteger:
      if (!item.bytes().empty()) std::memcpy(v, item.bytes().data(), item.bytes().size());
      break;
    default:
      PutBe(v, static_cast<uint64_t>(item.number()), static_cast<int>(value_len));
      break;
  }
  // Padding bytes stay zero: SecureBuffer starts zero-filled.
  return kTtlvHeaderBytes + Padded(value_len);
}

// ---- decoding ----

class Decoder {
 public:
  Decoder(const uint8_t* data, size_t size, const TtlvLimits& limits) : data_(data), size_(size), limits_(limits) {}

  // The item starting at `offset`, which must end by `end`; *next is set to
  // the offset after its padding.
  StatusOr<TtlvItem> Item(size_t offset, size_t end, size_t depth, size_t* next) {
    if (end - offset < kTtlvHeaderBytes) {
      return DataLoss(Format("truncated TTLV: an item header at offset %zu needs 8 bytes, %zu remain%s", offset,
                             end - offset, end == size_ ? "" : " in the enclosing Structure"));
    }
    const uint8_t* h = data_ + offset;
    const Tag tag = static_cast<Tag>(GetBe(h, 3));
    if (h[0] != 0x42 && h[0] != 0x54) {
      return DataLoss(Format("bad TTLV tag 0x%06" PRIX32 " at offset %zu: KMIP tags start with 0x42 (0x54 for extensions)",
                             tag, offset));
    }
    if (!IsKnownItemType(h[3])) {
      return DataLoss(Format("unknown TTLV item type 0x%02X for %s at offset %zu", h[3], DescribeTag(tag).c_str(), offset));
    }
    const ItemType type = static_cast<ItemType>(h[3]);
    const uint64_t len = GetBe(h + 4, 4);
    const std::string what = Format("%s %s at offset %zu", ItemTypeName(type), DescribeTag(tag).c_str(), offset);
    if (++items_ > limits_.max_items) {
      return ResourceExhausted(Format("TTLV message holds more than %zu items (limit max_items), at offset %zu",
                                      limits_.max_items, offset));
    }
    if (depth > limits_.max_depth) {
      return ResourceExhausted(Format("TTLV nesting deeper than %zu levels (limit max_depth) at offset %zu",
                                      limits_.max_depth, offset));
    }
    const uint32_t fixed = FixedLength(type);
    if (fixed != 0 && len != fixed) {
      return DataLoss(Format("%s has length %" PRIu64 "; the type's length is %u", what.c_str(), len, fixed));
    }
    if ((type == ItemType::kStructure && len % 8 != 0) || (type == ItemType::kBigInteger && (len == 0 || len % 8 != 0))) {
      return DataLoss(Format("%s has length %" PRIu64 "; it must be a non-zero multiple of 8", what.c_str(), len));
    }
    const size_t value_at = offset + kTtlvHeaderBytes;
    const uint64_t padded = Padded(len);
    if (padded > end - value_at) {
      return DataLoss(Format("truncated TTLV: %s declares %" PRIu64 " value bytes (%" PRIu64
                             " with padding) but %zu remain%s",
                             what.c_str(), len, padded, end - value_at, end == size_ ? "" : " in the enclosing Structure"));
    }
    for (uint64_t i = len; i < padded; ++i) {
      if (data_[value_at + i] != 0) {
        return DataLoss(Format("non-zero padding byte at offset %" PRIu64 " after %s: padding must be zero",
                               value_at + i, what.c_str()));
      }
    }
    *next = value_at + padded;
    return Value(tag, type, value_at, static_cast<size_t>(len), depth, what);
  }

 private:
  StatusOr<TtlvItem> Value(Tag tag, ItemType type, size_t at, size_t len, size_t depth, const std::string& what) {
    const uint8_t* v = data_ + at;
    switch (type) {
      case ItemType::kStructure: {
        TtlvItem item = TtlvItem::Structure(tag);
        size_t child_at = at;
        while (child_at < at + len) {
          size_t next = 0;
          ASSIGN_OR_RETURN(TtlvItem child, Item(child_at, at + len, depth + 1, &next));
          item.Add(std::move(child));
          child_at = next;
        }
        return item;
      }
      case ItemType::kInteger:
        return TtlvItem::Integer(tag, static_cast<int32_t>(static_cast<uint32_t>(GetBe(v, 4))));
      case ItemType::kLongInteger:
        return TtlvItem::LongInteger(tag, static_cast<int64_t>(GetBe(v, 8)));
      case ItemType::kEnumeration:
        return TtlvItem::Enumeration(tag, static_cast<uint32_t>(GetBe(v, 4)));
      case ItemType::kInterval:
        return TtlvItem::Interval(tag, static_cast<uint32_t>(GetBe(v, 4)));
      case ItemType::kDateTime:
        return TtlvItem::DateTime(tag, static_cast<int64_t>(GetBe(v, 8)));
      case ItemType::kBoolean: {
        const uint64_t b = GetBe(v, 8);
        if (b > 1) return DataLoss(what + " is neither 0 (False) nor 1 (True)");
        return TtlvItem::Boolean(tag, b == 1);
      }
      case ItemType::kTextString:
        return TtlvItem::TextString(tag, std::string(reinterpret_cast<const char*>(v), len));
      case ItemType::kByteString:
      case ItemType::kBigInteger: {
        if (++byte_strings_ > limits_.max_byte_strings) {
          return ResourceExhausted(Format("TTLV message holds more than %zu Byte Strings and Big Integers "
                                          "(limit max_byte_strings), at %s",
                                          limits_.max_byte_strings, what.c_str()));
        }
        crypto::SecureBuffer bytes = crypto::SecureBuffer::CopyOf(v, len);
        if (bytes.size() != len) {
          return ResourceExhausted(Format("cannot allocate %zu bytes of locked memory for %s", len, what.c_str()));
        }
        return type == ItemType::kByteString ? TtlvItem::ByteString(tag, std::move(bytes))
                                             : TtlvItem::BigInteger(tag, std::move(bytes));
      }
    }
    return DataLoss(what + " has an unknown type");  // unreachable: the type was checked
  }

  const uint8_t* data_;
  size_t size_;
  const TtlvLimits& limits_;
  size_t items_ = 0;
  size_t byte_strings_ = 0;
};

Status CheckLimits(const TtlvLimits& limits) {
  if (limits.max_depth == 0 || limits.max_depth > kTtlvMaxSupportedDepth) {
    return InvalidArgument(Format("TtlvLimits::max_depth must be 1..%zu, not %zu", kTtlvMaxSupportedDepth,
                                  limits.max_depth));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<size_t> EncodedTtlvSize(const TtlvItem& item) {
  ASSIGN_OR_RETURN(uint64_t len, ValueLength(item));
  if (len > kMaxItemLength) {
    return InvalidArgument(item.Name() + " is too large to encode: a TTLV length field holds at most 4 GiB");
  }
  return static_cast<size_t>(kTtlvHeaderBytes + Padded(len));
}

StatusOr<crypto::SecureBuffer> EncodeTtlv(const TtlvItem& item) {
  ASSIGN_OR_RETURN(size_t total, EncodedTtlvSize(item));
  crypto::SecureBuffer out(total);
  if (out.size() != total) {
    return ResourceExhausted(Format("cannot allocate %zu bytes of locked memory for a KMIP message", total));
  }
  Write(item, ValueLength(item).value(), out.data());
  return out;
}

StatusOr<TtlvItem> DecodeTtlv(const uint8_t* data, size_t size, const TtlvLimits& limits) {
  RETURN_IF_ERROR(CheckLimits(limits));
  if (size > limits.max_message_bytes) {
    return ResourceExhausted(Format("TTLV message of %zu bytes is larger than the limit of %zu (max_message_bytes)",
                                    size, limits.max_message_bytes));
  }
  if (size == 0 || data == nullptr) return DataLoss("empty TTLV message");
  Decoder decoder(data, size, limits);
  size_t next = 0;
  ASSIGN_OR_RETURN(TtlvItem item, decoder.Item(0, size, 1, &next));
  if (next != size) {
    return DataLoss(Format("%zu trailing bytes after the TTLV item that ends at offset %zu", size - next, next));
  }
  return item;
}

StatusOr<size_t> TtlvMessageSize(const uint8_t* header, size_t header_size, const TtlvLimits& limits) {
  if (header == nullptr || header_size < kTtlvHeaderBytes) {
    return InvalidArgument(Format("a TTLV header is 8 bytes, got %zu", header == nullptr ? 0 : header_size));
  }
  const Tag tag = static_cast<Tag>(GetBe(header, 3));
  if (header[0] != 0x42 && header[0] != 0x54) {
    return DataLoss(Format("bad TTLV tag 0x%06" PRIX32 " at offset 0: not a KMIP message", tag));
  }
  if (header[3] != static_cast<uint8_t>(ItemType::kStructure)) {
    return DataLoss(Format("KMIP message %s has item type 0x%02X; a message is a Structure (0x01)",
                           DescribeTag(tag).c_str(), header[3]));
  }
  const uint64_t len = GetBe(header + 4, 4);
  if (len % 8 != 0) {
    return DataLoss(Format("KMIP message %s has length %" PRIu64 "; a Structure's length is a multiple of 8",
                           DescribeTag(tag).c_str(), len));
  }
  const uint64_t total = kTtlvHeaderBytes + len;
  if (total > limits.max_message_bytes) {
    return ResourceExhausted(Format("KMIP message %s announces %" PRIu64
                                    " bytes, over the limit of %zu (max_message_bytes)",
                                    DescribeTag(tag).c_str(), total, limits.max_message_bytes));
  }
  return static_cast<size_t>(total);
}

}  // namespace keyring_locker::kmip
