#!/usr/bin/perl
# backup_output.pl LOG: prints, in a stable form, what mariadb-backup's output
# LOG tells the operator about keyring_locker: whether the plugin's own error
# (cause and fix) is there, and whether it comes before InnoDB's key error.
use strict;
my ($f) = @ARGV;
open(my $fh, '<', $f) or die "cannot open $f: $!";
my ($n, $plugin_at, $innodb_at, $cause, $fix) = (0);
while (my $line = <$fh>) {
  $n++;
  if (!$plugin_at && $line =~ /keyring_locker: \[ERROR\] (cannot start without the locker[^:]*): (\w+): .*?(cannot connect to https:\/\/127\.0\.0\.1:\d+|answered HTTP \d+ \([^)]*\))/) {
    $plugin_at = $n;
    ($cause = "$1: $2: $3") =~ s/127\.0\.0\.1:\d+/LOCKER/;
    ($fix) = $line =~ /-- (fix the problem named here.*)$/;
  }
  $innodb_at ||= $n if $line =~ /InnoDB: Obtaining .*encryption key version|Error: cannot read redo log header|key_id \d+ .* not found/;
}
print "plugin cause: ", ($cause // "MISSING"), "\n";
print "plugin fix: ", ($fix // "MISSING"), "\n";
print "plugin line before the InnoDB error: ", ($plugin_at && (!$innodb_at || $plugin_at < $innodb_at) ? "yes" : "no"), "\n";
