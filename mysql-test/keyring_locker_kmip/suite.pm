package My::Suite::KeyringLockerKmip;
use My::Platform;

@ISA = qw(My::Suite);

use strict;

return "keyring_locker needs Linux" if IS_WINDOWS;
return "Run this suite through scripts/mtr.sh: it starts PyKMIP and exports KLK_KMIP_CONFIG_FILE"
  unless $ENV{KLK_KMIP_CONFIG_FILE} && $ENV{KLK_KMIP_CTL};

bless {};
