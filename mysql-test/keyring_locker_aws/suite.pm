package My::Suite::KeyringLockerAws;
use My::Platform;

@ISA = qw(My::Suite);

use strict;

return "keyring_locker needs Linux" if IS_WINDOWS;
return "Run this suite through scripts/mtr.sh: it starts moto and exports KLK_AWS_CONFIG_FILE"
  unless $ENV{KLK_AWS_CONFIG_FILE} && $ENV{KLK_AWS_CTL};

bless {};
