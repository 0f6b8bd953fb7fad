#!/usr/bin/perl
# show_errors.pl ERRLOG: prints the keyring_locker error and warning lines of
# a server error log, without timestamps and with run-specific values
# (locker port, work directories) replaced, so results are stable.
use strict;
my ($log) = @ARGV;
open(my $fh, '<', $log) or die "cannot open $log: $!";
my %seen;
while (my $line = <$fh>) {
  next unless $line =~ /\[(ERROR|Warning)\] .*keyring_locker: (.*)$/;
  my $msg = "$1: $2";
  $msg =~ s{https://127\.0\.0\.1:\d+}{LOCKER_URL}g;
  $msg =~ s{port \d+}{port PORT}g;
  $msg =~ s{after \d+ ms}{after N ms}g;
  for my $var (qw(KLK_LOCKER_DIR MYSQLTEST_VARDIR KLK_SUITE_DIR)) {
    my $v = $ENV{$var};
    $msg =~ s{\Q$v\E}{$var}g if $v;
  }
  $msg =~ s{/tmp/klk_mtr\.\w+}{WORKDIR}g;
  print "$msg\n" unless $seen{$msg}++;
}
