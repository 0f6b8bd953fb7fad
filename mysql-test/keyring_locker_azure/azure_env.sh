# Sourced by scripts/mtr.sh: the keyring_locker_azure suite's Azure Key Vault
# stand-in (tests/azure/azure_standin.py; Lowkey Vault could not be had here)
# for the whole run, in its own folder of the work dir, ended by its
# watchdog when mtr.sh exits; and the plugin's config file: keys in a
# directory, wrapped by a 3072-bit RSA key, a client certificate to sign in.
# Adds the suite to SUITES, or leaves it out without python3's cryptography.
AZURE_SUITE=$ROOT/mysql-test/keyring_locker_azure
export KLK_AZURE_DIR=$WORK/azure
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
  /usr/bin/python3 "$ROOT/tests/azure/azure_standin.py" --state "$KLK_AZURE_DIR" --owner-pid $$ \
    --key keyring-locker-mtr --key-size 3072 --token-lifetime 3600 >"$WORK/azure-standin.log" 2>&1 &
  for _ in $(seq 1 300); do [ -f "$KLK_AZURE_DIR/ports.json" ] && break; sleep 0.1; done
  [ -f "$KLK_AZURE_DIR/ports.json" ] || { echo "mtr.sh: the Azure stand-in did not start: $WORK/azure-standin.log"; exit 1; }
  export KLK_AZURE_URL=https://127.0.0.1:$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tls"])' "$KLK_AZURE_DIR/ports.json")
  export KLK_AZURE_STORE=$WORK/azure-store KLK_AZURE_CONFIG_FILE=$WORK/azure.json
  cat >"$KLK_AZURE_CONFIG_FILE" <<JSON
{
  "store":    {"type": "directory", "path": "$KLK_AZURE_STORE"},
  "wrapper":  {"type": "azure_key_vault"},
  "azure":    {"vault_url": "$KLK_AZURE_URL", "key_name": "keyring-locker-mtr", "auth": "client_certificate",
               "tenant_id": "00000000-0000-0000-0000-0000000000aa",
               "client_id": "11111111-2222-3333-4444-555555555555", "authority_host": "$KLK_AZURE_URL",
               "certificate_file": "$KLK_AZURE_DIR/client.pem", "ca_file": "$KLK_AZURE_DIR/ca.pem"},
  "keys":     {"scope": "mtr/azure"},
  "timeouts": {"connect_ms": 1000, "total_ms": 3000}
}
JSON
  mkdir -p "$WORK/suites"
  ln -s "$AZURE_SUITE" "$WORK/suites/keyring_locker_azure"
  SUITES="$SUITES,$WORK/suites/keyring_locker_azure"
  echo "mtr.sh: Azure Key Vault stand-in at $KLK_AZURE_URL (folder $KLK_AZURE_DIR)"
else
  echo "mtr.sh: python3's cryptography is missing: the Azure suite (mysql-test/keyring_locker_azure) is left out"
fi
