// WriteFileDurably: replace a small file so that a kill -9 or a power cut
// leaves either the old content or the new, never an empty or partial file.
// Used for the datadir marker and the dev locker's state and TLS files.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace keyring_locker {

// Writes `text` to `path`.tmp (created with `mode`, so a secret file never
// exists with wider permissions, even briefly), fsyncs it, renames it over
// `path` and fsyncs the directory. `crash_point`, when not null, is passed
// between the fsync and the rename (docs/crash-safety.md). On failure the
// temporary file is removed and the error names the step, the file and
// errno's text; the caller adds what the operator should do about it.
// Writes all of `text` to `fd`, retrying short writes and EINTR. False
// with errno set on failure (EIO when write(2) wrote nothing).
bool WriteAll(int fd, std::string_view text);

Status WriteFileDurably(const std::string& path, std::string_view text, mode_t mode,
                        const char* crash_point = nullptr);

}  // namespace keyring_locker
