#include "datafile/inspect.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "common/safe_file.h"
#include "datafile/redo.h"
#include "datafile/tablespace.h"

namespace keyring_locker::datafile {

namespace fs = std::filesystem;

namespace {

// Reads up to `want` bytes; fewer only at the end of the file.
Status ReadSome(std::FILE* f, std::vector<uint8_t>& buf, size_t want, const std::string& path) {
  buf.resize(want);
  const size_t got = std::fread(buf.data(), 1, want, f);
  if (got < want && std::ferror(f)) return Unavailable("reading " + path + " failed: check permissions and the disk");
  buf.resize(got);
  return Status::Ok();
}

std::string SizeName(size_t bytes) { return std::to_string(bytes / 1024) + "K"; }

std::string KeyName(uint32_t key_id) { return std::to_string(key_id); }  // plugin/mariadb KeyGate::KeyName

// MySQL's encryption info (page 0 and the redo header carry the same block):
// the text for the summary, and the master key it needs, if any.
std::string DescribeMySqlInfo(const MySqlEncryptionInfo& info, FileReport& r) {
  std::string text = ": encrypted (info v" + std::to_string(info.version) + ")";
  r.mysql_info = info;
  const std::string name = MySqlMasterKeyName(info);
  if (name.empty()) return text + ", under InnoDB's default master key (id 0): no keyring key needed";
  r.needs.push_back({name, KeyNeed::Kind::kAnyVersion, 0});
  return text + ", keyring id " + name;
}

void DescribeTablespace(const Page0& p, FileReport& r) {
  std::string head;
  if (p.from_mysql()) {
    head = "MySQL tablespace (" + SizeName(p.size.physical) + " pages";
  } else {
    head = std::string("MariaDB tablespace (") +
           (p.size.format == PageFormat::kFullCrc32 ? "full_crc32" : "classic checksums") + ", " +
           SizeName(p.size.physical) + " pages";
  }
  if (p.size.physical != p.size.logical) head += " compressed from " + SizeName(p.size.logical);
  head += ", space " + std::to_string(p.space_id) + ")";
  if (p.mysql) {
    head += DescribeMySqlInfo(*p.mysql, r);
  } else if (p.maria_crypt) {
    const MariaCryptData& c = *p.maria_crypt;
    head += std::string(c.encrypted() ? ": encrypted" : ": not encrypted") + " (ENCRYPTED=" + ModeName(c.mode) +
            "), key " + std::to_string(c.key_id) + ", min key version " + std::to_string(c.min_key_version);
  } else {
    head += ": not encrypted (no crypt_data)";
  }
  r.summary = head;
}

// MariaDB: every page after page 0 carries the key version it was written with.
Status ScanPages(std::FILE* f, const Page0& p, const std::string& path, std::map<uint32_t, uint64_t>& versions) {
  std::vector<uint8_t> page;
  uint64_t page_no = 0;
  for (;;) {
    RETURN_IF_ERROR(ReadSome(f, page, p.size.physical, path));
    if (page.empty()) return Status::Ok();
    if (page.size() < p.size.physical) {
      return DataLoss(path + " ends inside a page (" + std::to_string(page.size()) + " of " +
                      std::to_string(p.size.physical) + " bytes): truncated copy?");
    }
    ++page_no;
    // Only pages that say they are this page of this file count: ibdata1's
    // doublewrite area holds copies of other tablespaces' pages (with their
    // keys' versions), and unused space is zeros. The page number (offset 4)
    // is never encrypted.
    const ByteView view{page.data(), page.size()};
    uint32_t stored_no = 0;
    if (!view.Be32(kFilPageOffset, stored_no) || stored_no != page_no) continue;
    const uint32_t v = PageKeyVersion(view, p.size);
    if (v != 0) ++versions[v];
  }
}

void InspectTablespace(std::FILE* f, ByteView start, const InspectOptions& options, FileReport& r) {
  auto p0 = ParsePage0(start);
  if (!p0.ok()) {
    r.error = p0.status();
    return;
  }
  DescribeTablespace(*p0, r);
  const bool maria = !p0->from_mysql();
  const bool encrypted = p0->maria_crypt && p0->maria_crypt->encrypted();
  const uint32_t key_id = p0->maria_crypt ? p0->maria_crypt->key_id : 0;
  if (!options.scan_pages || !maria) {
    // min_key_version 0 is what MariaDB writes while it is still encrypting
    // the space: pages may already carry any version from 1 on.
    if (encrypted)
      r.needs.push_back({KeyName(key_id), KeyNeed::Kind::kFromVersion, std::max(p0->maria_crypt->min_key_version, 1u)});
    return;
  }
  if (std::fseek(f, static_cast<long>(p0->size.physical), SEEK_SET) != 0) {
    r.error = Unavailable("cannot seek in " + r.path);
    return;
  }
  std::map<uint32_t, uint64_t> versions;
  if (Status s = ScanPages(f, *p0, r.path, versions); !s.ok()) {
    r.error = s;
    return;
  }
  if (versions.empty()) {
    r.summary += "; pages: none encrypted";
    return;
  }
  if (!p0->maria_crypt) {
    r.error = DataLoss("pages carry key versions but page 0 has no crypt_data: damaged page 0");
    return;
  }
  std::string list;
  for (const auto& [v, n] : versions) {
    list += (list.empty() ? "" : ", ") + std::string("v") + std::to_string(v) + " x" + std::to_string(n);
    r.needs.push_back({KeyName(key_id), KeyNeed::Kind::kExact, v});
  }
  r.summary += "; pages: " + list;
}

void DescribeRedo(const RedoHeader& h, FileReport& r) {
  const std::string creator = h.creator.empty() ? "" : ", written by " + h.creator;
  if (h.mysql) {
    r.summary = "MySQL redo log (format " + std::to_string(h.format) + creator + ")";
    if (!h.mysql_info) {
      r.summary += ": not encrypted";
      return;
    }
    r.summary += DescribeMySqlInfo(*h.mysql_info, r);
    return;
  }
  r.summary = std::string("MariaDB redo log (") +
              (h.format == kMariaRedoFormatEncrypted ? "10.11.15+ encrypted format" : "10.8+ format") + creator + ")";
  if (!h.encrypted) {
    r.summary += ": not encrypted";
    return;
  }
  r.summary += ": encrypted, key " + std::to_string(h.key_id) + " version " + std::to_string(h.key_version);
  r.needs.push_back({KeyName(h.key_id), KeyNeed::Kind::kExact, h.key_version});
}

bool IsInnodbFileName(const std::string& name) {
  auto ends = [&](const char* s) {
    const std::string suffix(s);
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  auto starts = [&](const char* s) { return name.rfind(s, 0) == 0; };
  return ends(".ibd") || ends(".ibu") || starts("ibdata") || starts("undo") || starts("ib_logfile") ||
         starts("#ib_redo");
}

// A table created with DATA DIRECTORY leaves only db/t.isl in the datadir: a
// text file naming the real .ibd. Skipping it would let --check pass while a
// file the server opens needs a missing key.
void FollowIsl(const fs::path& isl, std::set<std::string>& out, std::vector<std::string>& problems) {
  // Non-blocking, regular file only (common/safe_file.h): a FIFO named
  // *.isl in the datadir must not hang the CLI.
  ReadFileOptions read_options;
  read_options.open.what = "remote tablespace link";
  read_options.max_bytes = 64 * 1024;  // one path
  StatusOr<std::string> text = ReadRegularFile(isl.string(), read_options);
  if (!text.ok() || text->empty()) {
    problems.push_back(isl.string() + ": cannot read this link to a remote tablespace (" +
                       (text.ok() ? std::string("empty") : text.status().message()) +
                       "); inspect its .ibd by path");
    return;
  }
  std::string target = text->substr(0, text->find('\n'));
  while (!target.empty() && (target.back() == '\r' || target.back() == ' ')) target.pop_back();
  std::error_code ec;
  if (target.empty() || !fs::is_regular_file(target, ec)) {
    problems.push_back(isl.string() + ": names the remote tablespace '" + target +
                       "', which is not a readable file; inspect it by path");
    return;
  }
  out.insert(target);
}

void Walk(const fs::path& dir, int depth, std::set<std::string>& out, std::vector<std::string>& problems) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    problems.push_back(dir.string() + ": cannot list: " + ec.message());
    return;
  }
  for (; it != end; it.increment(ec)) {
    const fs::directory_entry& e = *it;
    std::error_code type_ec;
    if (e.is_directory(type_ec)) {
      if (depth > 0) Walk(e.path(), depth - 1, out, problems);
    } else if (e.is_regular_file(type_ec) && IsInnodbFileName(e.path().filename().string())) {
      out.insert(e.path().string());
    } else if (e.is_regular_file(type_ec) && e.path().extension() == ".isl") {
      FollowIsl(e.path(), out, problems);
    }
  }
  if (ec) problems.push_back(dir.string() + ": listing stopped: " + ec.message());
}

}  // namespace

std::string DescribeNeed(const KeyNeed& n) {
  switch (n.kind) {
    case KeyNeed::Kind::kExact: return "key " + n.name + " version " + std::to_string(n.version);
    case KeyNeed::Kind::kFromVersion: return "key " + n.name + " versions " + std::to_string(n.version) + "..latest";
    case KeyNeed::Kind::kAnyVersion: return "keyring id " + n.name;
  }
  return n.name;
}

FileReport InspectFile(const std::string& path, const InspectOptions& options) {
  FileReport r;
  r.path = path;
  try {
    // Non-blocking open, regular file only (common/safe_file.h): the CLI
    // must not hang on a FIFO passed or found by name.
    OpenFileOptions open_options;
    open_options.what = "data file";
    open_options.open_fix = "check that this user may read the datadir (run as the server's user or root)";
    open_options.not_regular_fix = "name InnoDB data files or a datadir";
    StatusOr<UniqueFile> f = OpenRegularStream(path, open_options);
    if (!f.ok()) {
      r.error = f.status();
      return r;
    }
    std::vector<uint8_t> start;
    if (Status s = ReadSome(f->get(), start, kMaxPageSize, path); !s.ok()) {
      r.error = s;
      return r;
    }
    if (start.empty()) {
      r.error = DataLoss("empty file: not an InnoDB file (or a copy that never got its data)");
      return r;
    }
    const ByteView view{start.data(), start.size()};
    auto redo = ParseRedoHeader(view);
    if (redo.ok()) {
      DescribeRedo(*redo, r);
    } else if (redo.status().code() != Code::kNotFound) {
      r.error = redo.status();
    } else {
      InspectTablespace(f->get(), view, options, r);
    }
  } catch (const std::exception& e) {  // std::bad_alloc, filesystem errors
    r.error = Internal(std::string("inspecting failed: ") + e.what());
  }
  return r;
}

std::vector<std::string> CollectInnodbFiles(const std::vector<std::string>& paths, std::vector<std::string>& problems) {
  std::set<std::string> files;
  try {
    for (const std::string& p : paths) {
      std::error_code ec;
      const fs::file_status st = fs::status(p, ec);
      if (ec || !fs::exists(st)) {
        problems.push_back(p + ": does not exist");
      } else if (fs::is_directory(st)) {
        Walk(p, 2, files, problems);
      } else {
        files.insert(p);
      }
    }
  } catch (const std::exception& e) {
    problems.push_back(std::string("listing files failed: ") + e.what());
  }
  return {files.begin(), files.end()};
}

}  // namespace keyring_locker::datafile
