#!/usr/bin/perl
# file_contains.pl FILE TEXT: prints whether FILE's bytes contain TEXT.
use strict;
my ($f, $text) = @ARGV;
open(my $fh, '<:raw', $f) or die "cannot open $f: $!";
local $/;
my $bytes = <$fh>;
close $fh;
(my $name = $f) =~ s{.*/}{};
print "$name: '$text' ", (index($bytes, $text) >= 0 ? "FOUND" : "not found"), "\n";
