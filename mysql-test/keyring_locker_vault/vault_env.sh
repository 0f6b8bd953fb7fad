# Sourced by scripts/mtr.sh: the keyring_locker_vault suite's real Vault
# (HashiCorp Vault 1.14.8, scripts/real_vault.sh; tests/vault/real_vault.py)
# for the whole run: one node, TLS with its test CA, raft storage, in its own
# folder of the work dir ($KLK_VAULT_DIR), initialised once (no re-init per
# test: each test has a scope of its own), stopped by mtr.sh's cleanup or,
# should mtr.sh be killed, by the launcher's watchdog (--owner-pid). The
# servers get a token with docs/locker-setup.md's least-privilege policy
# (vault_ctl.py setup), not the root token; the tests' checkers use root.
# Adds the suite to SUITES, or leaves it out when no vault binary was built
# (an error under KLK_REQUIRE_REAL_VAULT=1).
VAULT_SUITE=$ROOT/mysql-test/keyring_locker_vault
VAULT_LAUNCHER=$ROOT/tests/vault/real_vault.py
# KLK_MTR_REAL_VAULT=later (scripts/test.sh, while the binary may still be
# building): neither started nor added; a later `KLK_MTR_REAL_VAULT=only`
# run has it.
if [ "${KLK_MTR_REAL_VAULT:-}" = later ]; then
  echo "mtr.sh: the real-Vault suite is left for a later run (KLK_MTR_REAL_VAULT=later)"
elif /usr/bin/python3 "$VAULT_LAUNCHER" which >/dev/null 2>&1; then
  /usr/bin/python3 "$VAULT_LAUNCHER" start --dir "$KLK_VAULT_DIR" --owner-pid $$ >/dev/null
  export KLK_VAULT_SUITE_DIR=$VAULT_SUITE KLK_VAULT_CTL=$VAULT_SUITE/vault_ctl.py
  export KLK_VAULT_URL=$(/usr/bin/python3 "$VAULT_LAUNCHER" get --dir "$KLK_VAULT_DIR" url)
  export KLK_VAULT_CA=$KLK_VAULT_DIR/tls/ca.pem KLK_VAULT_ROOT_TOKEN_FILE=$KLK_VAULT_DIR/root-token
  # The servers' token file, in a folder of its own (the tests name it
  # KLK_LOCKER_DIR, as the dev locker's: include/vault_env.inc).
  export KLK_VAULT_TOKEN_DIR=$WORK/vault-token KLK_VAULT_TOKEN_FILE=$WORK/vault-token/token
  mkdir -m 700 "$KLK_VAULT_TOKEN_DIR"
  "$KLK_VAULT_CTL" setup "$KLK_VAULT_TOKEN_FILE"
  SUITES="$SUITES,$WORK/suites/keyring_locker_vault"
  echo "mtr.sh: real Vault $(/usr/bin/python3 "$VAULT_LAUNCHER" get --dir "$KLK_VAULT_DIR" version) at $KLK_VAULT_URL (folder $KLK_VAULT_DIR)"
else
  left_out "a real Vault (scripts/real_vault.sh builds it)" KLK_REQUIRE_REAL_VAULT keyring_locker_vault
fi
