#!/usr/bin/perl
# Crash helpers for the crash_* tests.
#   crash_run.pl start LOG CMD...  runs a server start that must die by SIGKILL
#                                  at the crash point armed in
#                                  $KLK_CRASH_POINT_FILE (which the point removes)
#   crash_run.pl kill PIDFILE      kill -9 the server named by PIDFILE, wait for it
# Prints one line on success; on failure, what happened and the server's
# keyring_locker lines, and exits 1.
use strict;
use warnings;
use POSIX qw(WIFSIGNALED WTERMSIG WIFEXITED WEXITSTATUS);

my $mode = shift @ARGV // '';
if ($mode eq 'kill') {
  my $pidfile = shift @ARGV;
  open(my $fh, '<', $pidfile) or die "crash_run.pl: cannot read $pidfile: $!\n";
  my $pid = <$fh>;
  close $fh;
  chomp $pid;
  die "crash_run.pl: no pid in $pidfile\n" unless $pid =~ /^\d+$/;
  kill 'KILL', $pid or die "crash_run.pl: kill -9 $pid failed: $!\n";
  for (1 .. 200) { last unless kill 0, $pid; select(undef, undef, undef, 0.05); }
  die "crash_run.pl: server $pid still alive after kill -9\n" if kill 0, $pid;
  print "server killed with SIGKILL\n";
  exit 0;
}
die "usage: crash_run.pl start LOG CMD... | kill PIDFILE\n" unless $mode eq 'start' && @ARGV >= 2;
my $log = shift @ARGV;
my $armed = $ENV{KLK_CRASH_POINT_FILE} or die "crash_run.pl: KLK_CRASH_POINT_FILE is not set (run through scripts/mtr.sh)\n";
open(my $want_fh, '<', $armed) or die "crash_run.pl: nothing armed in $armed\n";
my $point = <$want_fh>;
close $want_fh;
chomp $point;

my $pid = fork();
die "crash_run.pl: fork failed: $!\n" unless defined $pid;
if ($pid == 0) {
  open(STDOUT, '>>', $log);
  open(STDERR, '>>', $log);
  exec(join(' ', @ARGV)) or POSIX::_exit(127);
}
# A start that neither dies nor fails would hang the test: 120 s is far
# beyond a plugin init.
my $status;
for (1 .. 2400) {
  last if waitpid($pid, POSIX::WNOHANG) > 0 && defined($status = $?);
  select(undef, undef, undef, 0.05);
}
unless (defined $status) {
  kill 'KILL', $pid;
  waitpid($pid, 0);
  $status = -1;
}
if ($status != -1 && WIFSIGNALED($status) && WTERMSIG($status) == 9 && !-e $armed) {
  print "server start killed at $point\n";
  exit 0;
}
my $what = $status == -1 ? 'was still running after 120 s'
         : WIFSIGNALED($status) ? 'died by signal ' . WTERMSIG($status)
         : 'exited with status ' . WEXITSTATUS($status);
print "crash_run.pl: the start armed at '$point' $what", (-e $armed ? ' and never reached the point' : ''), "\n";
if (open(my $fh, '<', $log)) {
  print grep { /keyring_locker|ERROR/ } <$fh>;
}
exit 1;
