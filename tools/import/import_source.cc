#include "tools/import/import_source.h"

#include <map>

#include <openssl/crypto.h>

namespace keyring_locker::import {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

StatusOr<crypto::SecureBuffer> DecodeHexKey(const std::string& hex) {
  if (hex.size() % 2 != 0) {
    return InvalidArgument("the key has an odd number of hex digits (" + std::to_string(hex.size()) +
                           "): a digit is missing or one too many");
  }
  crypto::SecureBuffer out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument("the key has a character that is not a hex digit at position " +
                             std::to_string(2 * i + (hi < 0 ? 1 : 2)));
    }
    out.data()[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

void CheckItems(ImportSource& source) {
  const KeyRules rules{source.server};
  std::map<std::pair<std::string, uint32_t>, std::vector<size_t>> seen;
  for (size_t i = 0; i < source.items.size(); ++i) {
    ImportItem& item = source.items[i];
    seen[{item.name, item.version}].push_back(i);
    if (!item.error.empty()) continue;
    const std::string what =
        "key " + item.name + (source.model == KeyModel::kVersioned ? " version " + std::to_string(item.version) : "");
    Status s = rules.Check(item.type, item.bytes.size(), what);
    if (!s.ok()) item.error = s.message();
  }
  std::vector<bool> drop(source.items.size(), false);
  for (const auto& entry : seen) {
    if (entry.second.size() < 2) continue;
    // The same key written twice is not ambiguous: keep the first.
    bool same = true;
    const ImportItem& first = source.items[entry.second[0]];
    for (size_t i : entry.second) {
      const ImportItem& other = source.items[i];
      same = same && other.error.empty() && first.error.empty() && other.type == first.type &&
             other.bytes.Equals(first.bytes);
    }
    if (same) {
      for (size_t k = 1; k < entry.second.size(); ++k) drop[entry.second[k]] = true;
      source.warnings.push_back("key " + first.name + " is listed more than once with the same bytes (" +
                                first.origin + " and " + source.items[entry.second[1]].origin + "); imported once");
      continue;
    }
    std::string where;
    for (size_t i : entry.second) where += (where.empty() ? "" : ", ") + source.items[i].origin;
    for (size_t i : entry.second) {
      ImportItem& item = source.items[i];
      item.bytes = crypto::SecureBuffer();
      item.error = "key " + item.name +
                   (source.model == KeyModel::kVersioned ? " version " + std::to_string(item.version) : "") +
                   " appears more than once (" + where +
                   "): importing the wrong one would leave tables unreadable; keep the one the server uses, "
                   "remove the others and run again";
    }
  }
  std::vector<ImportItem> kept;
  kept.reserve(source.items.size());
  for (size_t i = 0; i < source.items.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(source.items[i]));
  }
  source.items = std::move(kept);
}

void WipeString(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace keyring_locker::import
