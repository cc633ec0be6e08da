# Hash-heavy Perl workload with a deterministic checksum (keys are always
# sorted before they are printed or hashed).  With CROWD_EXPECT_MAPPED set,
# it first checks that the named allocator is mapped into this process.
use strict;
use warnings;
use Digest::MD5;

if (my $name = $ENV{CROWD_EXPECT_MAPPED}) {
    open(my $maps, '<', '/proc/self/maps') or die "maps: $!";
    local $/;
    my $all = <$maps>;
    index($all, $name) >= 0 or die "$name is not mapped into perl\n";
}

my $md5 = Digest::MD5->new;
for my $generation (0 .. 19) {
    my %words;
    for my $i (0 .. 20000) {
        my $key = join '-', 'w', $generation, $i % 5003, ($i * 7919) % 101;
        $words{$key} .= chr(65 + $i % 26) x (1 + $i % 13);
    }
    my %inverted;
    while (my ($k, $v) = each %words) {
        push @{ $inverted{ length $v } }, $k;
    }
    for my $len (sort { $a <=> $b } keys %inverted) {
        $md5->add($len, scalar @{ $inverted{$len} });
    }
    my @sorted = sort keys %words;
    $md5->add(@sorted[0 .. 9], $words{ $sorted[-1] });
    my $big = 'z' x (3 * 1024 * 1024 + $generation);   # a huge block
    $big .= 'y' x 100000;
    $md5->add(length $big, substr($big, -3));
    delete @words{ grep { /7$/ } keys %words };
    $md5->add(scalar keys %words);
}
print "checksum ", $md5->hexdigest, "\n";
