#!/usr/bin/perl
# audit_ops.pl AUDIT_LOG: the distinct "op key_id version result" of the
# create/rotate lines (docs/audit-log.md).
use strict;
my %seen;
while (<>) {
  next unless /"op":"(create|rotate)"/;
  my $op = $1;
  my ($key) = /"key_id":"([^"]*)"/;
  my ($version) = /"version":(-?\d+)/;
  my ($result) = /"result":"([^"]*)"/;
  $seen{"$op key_id=$key version=$version $result"} = 1;
}
print "$_\n" for sort keys %seen;
