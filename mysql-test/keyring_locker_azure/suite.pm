package My::Suite::KeyringLockerAzure;
use My::Platform;

@ISA = qw(My::Suite);

use strict;

return "keyring_locker needs Linux" if IS_WINDOWS;
return "Run this suite through scripts/mtr.sh: it starts the Azure Key Vault stand-in and exports KLK_AZURE_CONFIG_FILE"
  unless $ENV{KLK_AZURE_CONFIG_FILE} && $ENV{KLK_AZURE_CTL};

bless {};
