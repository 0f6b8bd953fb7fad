// The minimal HCL subset of Vault ACL policies the dev locker understands:
//   path "secret/data/app/*" { capabilities = ["create", "read"] }
// A trailing `*` matches any suffix and `+` matches exactly one path segment.
// Simplification (documented): capabilities of all matching rules of all the
// token's policies are united; a matching "deny" wins over everything.
#pragma once

#include <string>
#include <vector>

namespace devlocker {

// Text of the built-in "default" policy every non-root token carries.
extern const char* const kDefaultPolicy;

// False (with a message naming the problem) when `hcl` has no usable rule.
bool ValidatePolicy(const std::string& hcl, std::string* error);

// True when some rule matching `path` grants one of `any_of` and none denies.
bool PolicyAllows(const std::vector<std::string>& hcl_texts, const std::string& path,
                  const std::vector<std::string>& any_of);

// Vault's test for the mount lookup (sys/internal/ui/mounts/<path>): true when
// some rule grants any capability on `mount` ("secret/") itself or on a path
// under it; deny rules grant nothing. No separate rule on the sys/ path is
// needed (or used): Vault serves that path to every token this way.
bool PolicyGrantsUnder(const std::vector<std::string>& hcl_texts, const std::string& mount);

// What sys/capabilities-self reports for `path`: the capabilities of every
// matching rule united (the simplification above), sorted; ["deny"] when a
// matching rule denies or none grants anything, as Vault answers.
std::vector<std::string> PolicyCapabilities(const std::vector<std::string>& hcl_texts, const std::string& path);

}  // namespace devlocker
