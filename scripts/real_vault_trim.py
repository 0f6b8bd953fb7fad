#!/usr/bin/env python3
"""Writes trimmed copies of a few Vault 1.14.8 source files and a Go overlay
file naming them, so `go build -overlay` compiles a Vault that leaves out the
plugins, storage backends and cloud integrations our tests never use.

Called by scripts/real_vault.sh (issue #13):

    real_vault_trim.py --vault DIR --discover DIR --out DIR

--vault / --discover: the downloaded modules (github.com/hashicorp/vault and
github.com/hashicorp/go-discover, read only); --out: where the patched copies
and overlay.json go. Vault's source is never copied wholesale nor committed.

Why: the full binary compiles ~2,200 packages (k8s client-go, msgraph, the
AWS/Azure/GCP/OCI/AliCloud SDKs, database drivers, ...) that come in almost
only through the plugin registry, the storage backend table and the cloud
auto-join providers. Every edit removes, by name, an import and the map
entries or lines that use it; anything the spec expects and does not find
fails the build loudly, so a pin change cannot silently produce a different
server. Kept (what the tests use, see docs/real-vault-notes.md): secrets kv,
transit (plus cubbyhole, identity, system, which core mounts itself); auth
approle, cert, userpass, token; storage raft, file, inmem; audit file,
socket, syslog (tiny, no new dependencies); external plugins; shamir, aead
and transit seals.
"""
import argparse
import json
import os
import re
import sys

# file (relative to its module) -> what to remove.
#   drop_imports: local names (alias, or the path's last element) of imports
#                 to delete; every map entry whose text uses NAME. is deleted
#                 with it (maps are scanned by the names in `maps`).
#   drop_funcs:   top-level functions (func NAME( or var NAME = func() to
#                 delete; like imports, whatever uses them goes too.
#   drop_lines:   exact lines (stripped) to delete.
#   keep:         map -> keys that must still be there afterwards.
# Besides map entries, every switch case whose body uses a removed name is
# deleted (the switch's default then answers, e.g. "unknown auth method").
VAULT_FILES = {
    "helper/builtinplugins/registry.go": {
        "maps": ["credentialBackends", "databasePlugins", "logicalBackends"],
        "drop_imports": [
            "credAliCloud", "credAzure", "credCentrify", "credCF", "credGcp", "credJWT", "credKerb",
            "credKube", "credOCI", "dbCouchbase", "dbElastic", "dbMongoAtlas", "dbRedis",
            "dbRedisElastiCache", "dbSnowflake", "logicalAd", "logicalAlicloud", "logicalAzure",
            "logicalGcp", "logicalGcpKms", "logicalKube", "logicalMongoAtlas", "logicalLDAP",
            "logicalTerraform", "credAws", "credGitHub", "credLdap", "credOkta", "credRadius",
            "logicalAws", "logicalConsul", "logicalNomad", "logicalPki", "logicalRabbit", "logicalSsh",
            "logicalTotp", "dbCass", "dbHana", "dbInflux", "dbMongo", "dbMssql", "dbMysql",
            "dbPostgres", "dbRedshift",
        ],
        "keep": {
            "credentialBackends": ["approle", "cert", "userpass"],
            "logicalBackends": ["kv", "transit"],
        },
    },
    "command/commands.go": {
        "maps": ["auditBackends", "credentialBackends", "logicalBackends", "physicalBackends",
                 "serviceRegistrations", "loginHandlers"],
        "drop_imports": [
            "credAliCloud", "credCentrify", "credCF", "credGcp", "credOIDC", "credKerb", "credOCI",
            "credAws", "credGitHub", "credLdap", "credOkta", "logicalDb",
            "physAerospike", "physAliCloudOSS", "physAzure", "physCassandra", "physCockroachDB",
            "physConsul", "physCouchDB", "physDynamoDB", "physEtcd", "physFoundationDB", "physGCS",
            "physManta", "physMSSQL", "physMySQL", "physOCI", "physPostgreSQL", "physS3",
            "physSpanner", "physSwift", "physZooKeeper", "csr", "ksr",
        ],
        "keep": {
            "auditBackends": ["file"],
            "logicalBackends": ["plugin", "kv"],
            "physicalBackends": ["raft", "file", "file_transactional", "inmem", "inmem_ha"],
            "loginHandlers": ["cert", "token", "userpass"],
        },
    },
    # `vault agent` / `vault proxy` auto-auth methods (we run neither):
    # their cloud SDKs (GCP API clients, gokrb5, Azure, OCI, AliCloud, CF).
    "command/agentproxyshared/helpers.go": {
        "maps": [],
        "drop_imports": ["alicloud", "aws", "azure", "cf", "gcp", "jwt", "kerberos", "kubernetes", "oci"],
        "keep": {},
    },
    # Auto-unseal through cloud KMSes; our servers use shamir unseal keys.
    # awskms stays: vault/core.go uses it for a logger option.
    "internalshared/configutil/kms.go": {
        "maps": [],
        "drop_imports": ["alicloudkms", "azurekeyvault", "gcpckms", "ocikms"],
        "drop_funcs": ["GetAliCloudKMSFunc", "GetAzureKeyVaultKMSFunc", "GetGCPCKMSKMSFunc",
                       "GetOCIKMSKMSFunc"],
        "keep": {},
    },
    # Raft's auto_join: the Kubernetes provider pulls in client-go. Our
    # clusters join by address (sys/storage/raft/join), never auto_join.
    "vault/raft.go": {
        "maps": [],
        "drop_imports": ["discoverk8s"],
        "drop_lines": ['providers["k8s"] = &discoverk8s.Provider{}'],
        "keep": {},
    },
}
# go-discover's provider table (cloud SDKs for aliyun, aws, azure, gce, ...),
# only used by raft auto_join; left empty, auto_join answers "unknown provider".
DISCOVER_FILES = {
    "discover.go": {
        "maps": ["Providers"],
        "drop_imports": ["aliyun", "aws", "azure", "digitalocean", "gce", "linode", "mdns", "os",
                         "packet", "scaleway", "softlayer", "tencentcloud", "triton", "vsphere"],
        "keep": {},
    },
}

IMPORT_RE = re.compile(r'^\s*(?:(\w+)\s+)?"([^"]+)"\s*$')
MAP_START_RE = re.compile(r'^\s*(?:var\s+)?(\w+)\s*(?:=|:=|:)\s*map\[[^\]]+\][\w.*]*\s*\{\s*$')
ENTRY_KEY_RE = re.compile(r'^\s*"([^"]+)"\s*:')


class TrimError(Exception):
    pass


def code_of(text):
    """text without string literals and // comments (per line)."""
    return "\n".join(re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', l).split("//", 1)[0]
                     for l in text.split("\n"))


def depth_change(line):
    code = code_of(line)
    return code.count("{") - code.count("}")


def drop_imports(lines, names, path):
    in_block, found, out = False, set(), []
    for line in lines:
        if line.strip() == "import (":
            in_block = True
        elif in_block and line.strip() == ")":
            in_block = False
        elif in_block:
            m = IMPORT_RE.match(line)
            if m:
                parts = m.group(2).split("/")
                if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
                    parts.pop()  # a major-version suffix: the package is named before it
                local = m.group(1) or parts[-1]
                if local in names:
                    if local in found:
                        raise TrimError("%s: import %s appears twice" % (path, local))
                    found.add(local)
                    continue
        out.append(line)
    missing = sorted(set(names) - found)
    if missing:
        raise TrimError("%s: imports not found: %s" % (path, ", ".join(missing)))
    return out


def map_entries(lines, map_name, path):
    """Yields (key, first, last) for the entries of map_name's literal."""
    starts = [i for i, l in enumerate(lines) if (m := MAP_START_RE.match(l)) and m.group(1) == map_name]
    if len(starts) != 1:
        raise TrimError("%s: expected one map literal %s, found %d" % (path, map_name, len(starts)))
    i, depth = starts[0] + 1, 1
    while depth > 0:
        if i >= len(lines):
            raise TrimError("%s: map %s never closes" % (path, map_name))
        m = ENTRY_KEY_RE.match(lines[i])
        if depth == 1 and m:
            first, d = i, depth_change(lines[i])
            while d > 0:
                i += 1
                d += depth_change(lines[i])
            yield m.group(1), first, i
            i += 1
            continue
        depth += depth_change(lines[i])
        i += 1


def drop_funcs(lines, names, path, log):
    for name in names:
        starts = [i for i, l in enumerate(lines)
                  if re.match(r"(func|var)\s+%s\b" % re.escape(name), l)]
        if len(starts) != 1:
            raise TrimError("%s: expected one top-level %s, found %d" % (path, name, len(starts)))
        last, d = starts[0], depth_change(lines[starts[0]])
        while d > 0:
            last += 1
            d += depth_change(lines[last])
        del lines[starts[0]:last + 1]
        log.append("%s: func %s removed" % (path, name))


def case_blocks(lines):
    """Yields (first, last) of every switch case: its case line up to the
    next case/default/closing brace at or left of its indentation."""
    for i, line in enumerate(lines):
        if not re.match(r"\s*case\b.*:\s*(//.*)?$", line):
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines):
            s = lines[j].strip()
            ind = len(lines[j]) - len(lines[j].lstrip())
            if s and (ind < indent or (ind == indent and (s.startswith("case ") or s.startswith("default:") or s == "}"))):
                break
            j += 1
        yield i, j - 1


def trim(text, spec, path, log):
    lines = drop_imports(text.split("\n"), spec["drop_imports"], path)
    funcs = spec.get("drop_funcs", [])
    drop_funcs(lines, funcs, path, log)
    pattern = r"\b(%s)\." % "|".join(map(re.escape, spec["drop_imports"]))
    if funcs:
        pattern += r"|\b(%s)\b" % "|".join(map(re.escape, funcs))
    uses = re.compile(pattern)
    for map_name in spec["maps"]:
        drop = []
        for key, first, last in list(map_entries(lines, map_name, path)):
            if uses.search(code_of("\n".join(lines[first:last + 1]))):
                drop.append((first, last))
                log.append("%s: %s[%r] removed" % (path, map_name, key))
        for first, last in reversed(drop):
            del lines[first:last + 1]
    drop = [(f, l) for f, l in case_blocks(lines) if uses.search(code_of("\n".join(lines[f:l + 1])))]
    for first, last in reversed(drop):
        log.append("%s: %s removed" % (path, lines[first].strip()))
        del lines[first:last + 1]
    for wanted in spec.get("drop_lines", []):
        hits = [i for i, l in enumerate(lines) if l.strip() == wanted]
        if len(hits) != 1:
            raise TrimError("%s: expected the line %r once, found it %d times" % (path, wanted, len(hits)))
        del lines[hits[0]]
        log.append("%s: line %r removed" % (path, wanted))
    left = [l.strip() for l in lines if uses.search(code_of(l))]
    if left:
        raise TrimError("%s: removed imports still used: %s" % (path, "; ".join(left)))
    for map_name, keys in spec["keep"].items():
        present = {k for k, _, _ in map_entries(lines, map_name, path)}
        missing = [k for k in keys if k not in present]
        if missing:
            raise TrimError("%s: %s lost %s, which the tests need" % (path, map_name, ", ".join(missing)))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vault", required=True)
    ap.add_argument("--discover", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    overlay, log = {}, []
    try:
        for module, files, tag in ((args.vault, VAULT_FILES, "vault"),
                                   (args.discover, DISCOVER_FILES, "go-discover")):
            for rel, spec in files.items():
                src = os.path.join(module, rel)
                with open(src) as f:
                    text = f.read()
                dst = os.path.join(args.out, tag, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst, "w") as f:
                    f.write(trim(text, spec, "%s/%s" % (tag, rel), log))
                overlay[os.path.abspath(src)] = os.path.abspath(dst)
    except (TrimError, OSError, IndexError) as e:  # IndexError: a brace never closes
        sys.exit("real_vault_trim: %s (the Vault pin changed? update scripts/real_vault_trim.py)" % e)
    with open(os.path.join(args.out, "overlay.json"), "w") as f:
        json.dump({"Replace": overlay}, f, indent=1)
    print("\n".join(log))


if __name__ == "__main__":
    main()
