package My::Suite::KeyringLockerVault;
use My::Platform;

@ISA = qw(My::Suite);

use strict;

return "keyring_locker needs Linux" if IS_WINDOWS;
return "Run this suite through scripts/mtr.sh: it starts a real Vault and exports KLK_VAULT_URL"
  unless $ENV{KLK_VAULT_URL} && $ENV{KLK_VAULT_CTL};

bless {};
