#!/usr/bin/perl
# show_errors.pl ERRLOG: prints the keyring_locker error and warning messages
# of a server error log, without timestamps, with continuation lines joined
# and run-specific values (locker port, work directories) replaced, so
# results are stable.
use strict;
my ($log) = @ARGV;
open(my $fh, '<', $log) or die "cannot open $log: $!";
my @msgs;
while (my $line = <$fh>) {
  next unless $line =~ /\[(ERROR|Warning)\] .*?keyring_locker: (.*)$/;
  my ($level, $text) = ($1, $2);
  if ($text =~ /^\.\.\. (.*)$/ && @msgs) {
    $msgs[-1] .= " $1";
  } else {
    push @msgs, "$level: $text";
  }
}
my %seen;
for my $msg (@msgs) {
  $msg =~ s{https://127\.0\.0\.1:\d+}{LOCKER_URL}g;
  $msg =~ s{127\.0\.0\.1:\d+}{KMIP_SERVER}g;  # the KMIP suite's PyKMIP
  $msg =~ s{port \d+}{port PORT}g;
  $msg =~ s{after \d+ ms}{after N ms}g;
  $msg =~ s{arn:aws:kms:[^:\s]+:\d+:key/[0-9a-f-]+}{KMS_KEY_ARN}g;  # the AWS suite's moto key
  for my $var (qw(KLK_LOCKER_DIR KLK_KMIP_CONFIG_DIR KLK_KMIP_DIR KLK_AWS_CONFIG_DIR KLK_AWS_KEYS_DIR KLK_AWS_DIR
                  MYSQLTEST_VARDIR KLK_SUITE_DIR)) {
    my $v = $ENV{$var};
    $msg =~ s{\Q$v\E}{$var}g if $v;
  }
  print "$msg\n" unless $seen{$msg}++;
}
