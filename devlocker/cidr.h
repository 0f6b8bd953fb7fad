// CIDR lists as Vault's AppRole and tokens use them (secret_id_bound_cidrs,
// token_bound_cidrs, a secret ID's cidr_list): "10.0.0.0/8", "::1/128", or a
// bare address meaning that address alone.
#pragma once

#include <string>
#include <vector>

namespace devlocker {

// The first entry that is not an IPv4/IPv6 address or CIDR block; empty
// when all are valid.
std::string FirstInvalidCidr(const std::vector<std::string>& cidrs);

// True when `cidrs` is empty (no restriction) or `address` (a client's IP as
// the HTTP server reports it) lies in one of the blocks.
bool AddressAllowed(const std::string& address, const std::vector<std::string>& cidrs);

}  // namespace devlocker
