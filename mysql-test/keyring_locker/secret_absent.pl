#!/usr/bin/perl
# secret_absent.pl SECRET_FILE FILE...: says whether the secret held in
# SECRET_FILE (a token) appears in any FILE. Never prints the secret.
use strict;
my ($secret_file, @files) = @ARGV;
open(my $s, '<', $secret_file) or die "cannot open $secret_file: $!";
my $secret = <$s>;
chomp $secret;
die "empty secret in $secret_file" unless length $secret;
for my $f (@files) {
  open(my $fh, '<:raw', $f) or die "cannot open $f: $!";
  local $/;
  my $bytes = <$fh>;
  (my $name = $f) =~ s{.*/}{};
  print "$name: ", (index($bytes, $secret) >= 0 ? "CONTAINS THE TOKEN" : "no token"), "\n";
}
