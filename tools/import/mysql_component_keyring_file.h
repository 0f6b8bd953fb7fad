// component_keyring_file's data file (MySQL 8.0.24+, by the component's JSON
// reader and writer): one JSON object
//   {"version": "1.0",
//    "elements": [{"user": "", "data_id": "...", "data_type": "AES",
//                  "data": "<hex>", "extension": []}, ...]}
// where "data" is the key's bytes in hex (the component writes upper case).
// Each element becomes the name the keyring_locker MySQL adapters give
// (data_id, user), as a new generation, with its data_type.
#pragma once

#include <string>

#include "tools/import/import_source.h"

namespace keyring_locker::import {

// A file that is not that JSON (or has another version) is returned as an
// error; an element with a missing field, bad hex or an unusable key
// becomes a failed item naming its index.
StatusOr<ImportSource> ParseMysqlComponentKeyringFile(const std::string& content);

}  // namespace keyring_locker::import
