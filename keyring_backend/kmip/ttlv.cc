// TtlvItem: construction and the typed accessors (the codec is in
// ttlv_codec.cc).
#include "keyring_backend/kmip/ttlv.h"

#include <utility>

namespace keyring_locker::kmip {

TtlvItem TtlvItem::Structure(Tag tag) { return TtlvItem(tag, ItemType::kStructure); }

TtlvItem TtlvItem::Integer(Tag tag, int32_t value) {
  TtlvItem item(tag, ItemType::kInteger);
  item.number_ = value;
  return item;
}

TtlvItem TtlvItem::LongInteger(Tag tag, int64_t value) {
  TtlvItem item(tag, ItemType::kLongInteger);
  item.number_ = value;
  return item;
}

TtlvItem TtlvItem::BigInteger(Tag tag, crypto::SecureBuffer value) {
  TtlvItem item(tag, ItemType::kBigInteger);
  item.bytes_ = std::move(value);
  return item;
}

TtlvItem TtlvItem::Enumeration(Tag tag, uint32_t value) {
  TtlvItem item(tag, ItemType::kEnumeration);
  item.number_ = value;
  return item;
}

TtlvItem TtlvItem::Boolean(Tag tag, bool value) {
  TtlvItem item(tag, ItemType::kBoolean);
  item.number_ = value ? 1 : 0;
  return item;
}

TtlvItem TtlvItem::TextString(Tag tag, std::string value) {
  TtlvItem item(tag, ItemType::kTextString);
  item.text_ = std::move(value);
  return item;
}

TtlvItem TtlvItem::ByteString(Tag tag, crypto::SecureBuffer value) {
  TtlvItem item(tag, ItemType::kByteString);
  item.bytes_ = std::move(value);
  return item;
}

TtlvItem TtlvItem::DateTime(Tag tag, int64_t seconds_since_epoch) {
  TtlvItem item(tag, ItemType::kDateTime);
  item.number_ = seconds_since_epoch;
  return item;
}

TtlvItem TtlvItem::Interval(Tag tag, uint32_t seconds) {
  TtlvItem item(tag, ItemType::kInterval);
  item.number_ = seconds;
  return item;
}

TtlvItem& TtlvItem::Add(TtlvItem child) {
  // Children of a non-Structure are kept so that EncodeTtlv can name the
  // mistake instead of it vanishing here.
  children_.push_back(std::move(child));
  return *this;
}

Status TtlvItem::WrongType(ItemType wanted) const {
  return DataLoss(Name() + " is a " + ItemTypeName(type_) + ", expected a " + ItemTypeName(wanted));
}

StatusOr<int32_t> TtlvItem::AsInteger() const {
  if (type_ != ItemType::kInteger) return WrongType(ItemType::kInteger);
  return static_cast<int32_t>(number_);
}

StatusOr<int64_t> TtlvItem::AsLongInteger() const {
  if (type_ != ItemType::kLongInteger) return WrongType(ItemType::kLongInteger);
  return number_;
}

StatusOr<uint32_t> TtlvItem::AsEnumeration() const {
  if (type_ != ItemType::kEnumeration) return WrongType(ItemType::kEnumeration);
  return static_cast<uint32_t>(number_);
}

StatusOr<bool> TtlvItem::AsBoolean() const {
  if (type_ != ItemType::kBoolean) return WrongType(ItemType::kBoolean);
  return number_ != 0;
}

StatusOr<std::string> TtlvItem::AsTextString() const {
  if (type_ != ItemType::kTextString) return WrongType(ItemType::kTextString);
  return text_;
}

StatusOr<const crypto::SecureBuffer*> TtlvItem::AsByteString() const {
  if (type_ != ItemType::kByteString) return WrongType(ItemType::kByteString);
  return &bytes_;
}

StatusOr<const crypto::SecureBuffer*> TtlvItem::AsBigInteger() const {
  if (type_ != ItemType::kBigInteger) return WrongType(ItemType::kBigInteger);
  return &bytes_;
}

StatusOr<int64_t> TtlvItem::AsDateTime() const {
  if (type_ != ItemType::kDateTime) return WrongType(ItemType::kDateTime);
  return number_;
}

StatusOr<uint32_t> TtlvItem::AsInterval() const {
  if (type_ != ItemType::kInterval) return WrongType(ItemType::kInterval);
  return static_cast<uint32_t>(number_);
}

std::vector<const TtlvItem*> TtlvItem::FindAll(Tag tag) const {
  std::vector<const TtlvItem*> found;
  if (type_ != ItemType::kStructure) return found;
  for (const TtlvItem& c : children_) {
    if (c.tag_ == tag) found.push_back(&c);
  }
  return found;
}

StatusOr<const TtlvItem*> TtlvItem::OptionalChild(Tag tag) const {
  const TtlvItem* found = nullptr;
  if (type_ != ItemType::kStructure) return found;
  for (const TtlvItem& c : children_) {
    if (c.tag_ != tag) continue;
    // A field given twice is refused before anything reads it: two readers
    // picking different copies is how smuggling starts.
    if (found != nullptr) return DataLoss(Name() + " holds " + DescribeTag(tag) + " more than once");
    found = &c;
  }
  return found;
}

StatusOr<const TtlvItem*> TtlvItem::Child(Tag tag) const {
  ASSIGN_OR_RETURN(const TtlvItem* found, OptionalChild(tag));
  if (found == nullptr) return DataLoss(Name() + " has no " + DescribeTag(tag));
  return found;
}

StatusOr<int32_t> TtlvItem::ChildInteger(Tag tag) const {
  ASSIGN_OR_RETURN(const TtlvItem* c, Child(tag));
  return c->AsInteger();
}

StatusOr<uint32_t> TtlvItem::ChildEnumeration(Tag tag) const {
  ASSIGN_OR_RETURN(const TtlvItem* c, Child(tag));
  return c->AsEnumeration();
}

StatusOr<std::string> TtlvItem::ChildTextString(Tag tag) const {
  ASSIGN_OR_RETURN(const TtlvItem* c, Child(tag));
  return c->AsTextString();
}

StatusOr<const crypto::SecureBuffer*> TtlvItem::ChildByteString(Tag tag) const {
  ASSIGN_OR_RETURN(const TtlvItem* c, Child(tag));
  return c->AsByteString();
}

StatusOr<const TtlvItem*> TtlvItem::ChildStructure(Tag tag) const {
  ASSIGN_OR_RETURN(const TtlvItem* c, Child(tag));
  if (c->type() != ItemType::kStructure) return c->WrongType(ItemType::kStructure);
  return c;
}

}  // namespace keyring_locker::kmip
