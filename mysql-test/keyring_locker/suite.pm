package My::Suite::KeyringLocker;
use My::Platform;

@ISA = qw(My::Suite);

use strict;

return "keyring_locker needs Linux" if IS_WINDOWS;
return "Run this suite through scripts/mtr.sh: it starts the dev locker and exports KLK_LOCKER_URL"
  unless $ENV{KLK_LOCKER_URL} && $ENV{KLK_LOCKER_CTL};

bless {};
