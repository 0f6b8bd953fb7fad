// TTLV, KMIP's binary encoding (KMIP 1.x spec section 9.1): every item is
//   tag (3 bytes, 0x42xxxx) | type (1 byte) | length (4 bytes, big-endian) |
//   value (length bytes) | zero padding up to a multiple of 8
// and a Structure's value is the concatenation of its children's items.
//
// TtlvItem is one item with its children: the message layer builds requests
// from them and reads responses through the typed accessors, which refuse a
// missing, repeated or mistyped field with a DATA_LOSS naming it. Byte
// Strings and Big Integers (key material, plaintext, private key numbers)
// live in SecureBuffers, and encoded messages are returned in one, so key
// bytes are wiped when the tree or the message is freed.
//
// The decoder takes bytes from the network: it never reads outside them,
// never throws, and refuses anything the spec does not allow, naming the
// problem and its byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/kmip/kmip_tags.h"

namespace keyring_locker::kmip {

inline constexpr size_t kTtlvHeaderBytes = 8;
// Decoding recurses once per nesting level: limits.max_depth may not exceed
// this, whatever the caller asks for.
inline constexpr size_t kTtlvMaxSupportedDepth = 64;

// What a decoder accepts from a peer. Every bound is checked before the
// memory it protects is used.
struct TtlvLimits {
  size_t max_message_bytes = 1 << 20;  // whole message, header included
  size_t max_depth = 16;               // the message itself is level 1
  size_t max_items = 4096;             // all items, at every level
  // Each Byte String and Big Integer gets a locked mapping of its own
  // (SecureBuffer); a real response holds a handful.
  size_t max_byte_strings = 32;
};

class TtlvItem {
 public:
  static TtlvItem Structure(Tag tag);
  static TtlvItem Integer(Tag tag, int32_t value);
  static TtlvItem LongInteger(Tag tag, int64_t value);
  // Two's complement, big-endian, sign-extended to a multiple of 8 bytes
  // (EncodeTtlv refuses other lengths).
  static TtlvItem BigInteger(Tag tag, crypto::SecureBuffer value);
  static TtlvItem Enumeration(Tag tag, uint32_t value);
  static TtlvItem Boolean(Tag tag, bool value);
  static TtlvItem TextString(Tag tag, std::string value);
  static TtlvItem ByteString(Tag tag, crypto::SecureBuffer value);
  static TtlvItem DateTime(Tag tag, int64_t seconds_since_epoch);
  static TtlvItem Interval(Tag tag, uint32_t seconds);

  TtlvItem(TtlvItem&&) noexcept = default;
  TtlvItem& operator=(TtlvItem&&) noexcept = default;
  TtlvItem(const TtlvItem&) = delete;
  TtlvItem& operator=(const TtlvItem&) = delete;

  Tag tag() const { return tag_; }
  ItemType type() const { return type_; }
  // "Unique Identifier (0x420094)", for messages.
  std::string Name() const { return DescribeTag(tag_); }

  // Structures: children in wire order. Add appends (for other types it does
  // nothing and the encoder reports the item) and returns *this for chaining.
  TtlvItem& Add(TtlvItem child);
  const std::vector<TtlvItem>& children() const { return children_; }
  std::vector<TtlvItem>& mutable_children() { return children_; }

  // The value, if the item has that type; DATA_LOSS naming the item otherwise.
  StatusOr<int32_t> AsInteger() const;
  StatusOr<int64_t> AsLongInteger() const;
  StatusOr<uint32_t> AsEnumeration() const;
  StatusOr<bool> AsBoolean() const;
  StatusOr<std::string> AsTextString() const;
  StatusOr<const crypto::SecureBuffer*> AsByteString() const;
  StatusOr<const crypto::SecureBuffer*> AsBigInteger() const;
  StatusOr<int64_t> AsDateTime() const;
  StatusOr<uint32_t> AsInterval() const;

  // Children by tag (Structures only; nothing is found in other items).
  std::vector<const TtlvItem*> FindAll(Tag tag) const;
  // The one child with `tag`; DATA_LOSS if there is none or more than one.
  StatusOr<const TtlvItem*> Child(Tag tag) const;
  // The child with `tag` or nullptr; DATA_LOSS if there is more than one.
  StatusOr<const TtlvItem*> OptionalChild(Tag tag) const;
  // Child(tag) and its value in one step.
  StatusOr<int32_t> ChildInteger(Tag tag) const;
  StatusOr<uint32_t> ChildEnumeration(Tag tag) const;
  StatusOr<std::string> ChildTextString(Tag tag) const;
  StatusOr<const crypto::SecureBuffer*> ChildByteString(Tag tag) const;
  StatusOr<const TtlvItem*> ChildStructure(Tag tag) const;

  // Raw storage, for the codec and tests: numbers of every numeric type
  // (Boolean as 0/1), text, bytes of Byte String and Big Integer.
  int64_t number() const { return number_; }
  const std::string& text() const { return text_; }
  const crypto::SecureBuffer& bytes() const { return bytes_; }

 private:
  TtlvItem(Tag tag, ItemType type) : tag_(tag), type_(type) {}
  Status WrongType(ItemType wanted) const;

  Tag tag_;
  ItemType type_;
  int64_t number_ = 0;
  std::string text_;
  crypto::SecureBuffer bytes_;
  std::vector<TtlvItem> children_;
};

// The wire bytes of `item` and everything below it. INVALID_ARGUMENT for a
// tree that cannot be encoded (a tag outside 0x42xxxx/0x54xxxx, a Big Integer
// not a multiple of 8 bytes, a child under a non-Structure, over 4 GiB);
// RESOURCE_EXHAUSTED if the locked buffer cannot be allocated.
StatusOr<crypto::SecureBuffer> EncodeTtlv(const TtlvItem& item);
// What EncodeTtlv would return the size of, without encoding.
StatusOr<size_t> EncodedTtlvSize(const TtlvItem& item);

// Exactly one item filling all of [data, data + size). DATA_LOSS for
// malformed input (bad tag or type, a length the type does not allow,
// truncation, non-zero padding, a Boolean other than 0/1, trailing bytes),
// RESOURCE_EXHAUSTED for input over a limit, both naming the byte offset.
//
// Padding must be zero: the spec fills it with zeros, and refusing anything
// else keeps one encoding per value, so no bytes can ride along unseen in a
// message that two parsers might read differently.
StatusOr<TtlvItem> DecodeTtlv(const uint8_t* data, size_t size, const TtlvLimits& limits = TtlvLimits());

// For a transport that reads the 8-byte header first: the total size of the
// message (header + value) it announces, once checked to be a Structure
// whose length fits the limit. `header` needs kTtlvHeaderBytes bytes.
StatusOr<size_t> TtlvMessageSize(const uint8_t* header, size_t header_size,
                                 const TtlvLimits& limits = TtlvLimits());

}  // namespace keyring_locker::kmip
