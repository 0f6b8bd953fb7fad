#!/bin/sh
# keyring-locker, the operator's command line of keyring_locker (man 1
# keyring-locker). The program lives in /usr/libexec/keyring-locker, next to the
# keyring_locker_wipe_alloc.so it loads from its own folder (the allocator
# that wipes the locker token from memory libcurl frees): started by its full
# path, it finds it there.
exec /usr/libexec/keyring-locker/keyring-locker "$@"
