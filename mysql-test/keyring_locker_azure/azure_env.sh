# Sourced by scripts/mtr.sh: the keyring_locker_azure suite's Azure Key Vault
# stand-in (tests/azure/azure_standin.py; Lowkey Vault could not be had here)
# for the whole run, in its own folder of the work dir (standin_ctl.sh),
# stopped by mtr.sh's cleanup or, should mtr.sh be killed, by its owner
# check (tests/support/server_group.py); and one config file per test as
# for the KMIP and AWS suites (mysql-test/keyring_locker/suite_configs.py,
# scope mtr/<test>, default.json for my.cnf): keys in one directory beside the
# datadirs, wrapped by a 3072-bit RSA key, a client certificate to sign in.
# Adds the suite to SUITES, or leaves it out without python3's cryptography.
AZURE_SUITE=$ROOT/mysql-test/keyring_locker_azure
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
  export KLK_AZURE_LAUNCHER=$ROOT/tests/azure/azure_standin.py KLK_AZURE_OWNER_PID=$$
  export KLK_AZURE_CTL="$ROOT/mysql-test/keyring_locker/service_ctl.sh azure"
  "$AZURE_SUITE/standin_ctl.sh" launch
  export KLK_AZURE_URL=https://127.0.0.1:$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tls"])' "$KLK_AZURE_DIR/ports.json")
  export KLK_AZURE_SUITE_DIR=$AZURE_SUITE KLK_AZURE_STORE=$WORK/azure-store
  export KLK_AZURE_CONFIG_DIR=$WORK/azure-config KLK_AZURE_CONFIG_FILE=$WORK/azure-config/default.json
  mkdir -m 700 "$KLK_AZURE_STORE"
  /usr/bin/python3 "$ROOT/mysql-test/keyring_locker/suite_configs.py" "$KLK_AZURE_CONFIG_DIR" "$AZURE_SUITE/t" "$(cat <<JSON
{"store":    {"type": "directory", "path": "$KLK_AZURE_STORE"},
 "wrapper":  {"type": "azure_key_vault"},
 "azure":    {"vault_url": "$KLK_AZURE_URL", "key_name": "keyring-locker-mtr", "auth": "client_certificate",
              "tenant_id": "00000000-0000-0000-0000-0000000000aa",
              "client_id": "11111111-2222-3333-4444-555555555555", "authority_host": "$KLK_AZURE_URL",
              "certificate_file": "$KLK_AZURE_DIR/client.pem", "ca_file": "$KLK_AZURE_DIR/ca.pem"},
 "timeouts": {"connect_ms": 1000, "total_ms": 3000}}
JSON
)"
  SUITES="$SUITES,$WORK/suites/keyring_locker_azure"
  echo "mtr.sh: Azure Key Vault stand-in at $KLK_AZURE_URL (folder $KLK_AZURE_DIR), keys in $KLK_AZURE_STORE"
else
  left_out "python3's cryptography (the Azure stand-in)" KLK_REQUIRE_AZURE keyring_locker_azure
fi
