package judge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// deviated is a failed verdict of a case as checkCase leaves it: the
// model's bytes, and an image that shows them with garbage applied.
func deviated(t *testing.T, fs string, bs int64, name string, ops []cases.Op, garbage map[int64]byte) Verdict {
	t.Helper()
	g := reference.Geometry{FS: fs, BlockSize: bs, PageSize: 4096, MaxFolio: 4096}
	m, err := reference.Run(g, ops)
	require.NoError(t, err)
	want := m.Content()
	got := append([]byte(nil), want...)
	for off, b := range garbage {
		got[off] = b
	}
	v := Verdict{Case: name, Disk: fs, FS: fs, BlockSize: bs, Status: Pass}
	if off, n := firstDiff(want, got); off >= 0 {
		v.Failf("content", off, "%d byte(s) differ", n)
		v.Failures[len(v.Failures)-1].ModelZero = want[off] == 0
	}
	v.evidence = &evidence{geometry: g, ops: ops, want: want, got: got}
	for _, o := range ops {
		v.Ops = append(v.Ops, o.String())
	}
	return v
}

func seq(t *testing.T, text string) []cases.Op {
	t.Helper()
	ops, err := cases.ReadSequence(strings.NewReader(text))
	require.NoError(t, err)
	return ops
}

func pollutedRun(from, to int64) map[int64]byte {
	g := map[int64]byte{}
	for i := from; i < to; i++ {
		g[i] = reference.PolluteByte
	}
	return g
}

func TestFindingsMatchOnlyTheirModelledDeviation(t *testing.T) {
	// pollute-after-fsync-then-write on ext2-1k: EOF at 1029 when
	// polluted, a write at 8192 grows the file; the kernel keeps 0xee in
	// [1029, 4096).
	pollute := "pwrite 0x0 0x405\nfsync\npolluteeof 0x0 0x0\npwrite 0x2000 0x10\nfsync\n"
	ops := seq(t, pollute)
	exact := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))
	subset := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(2048, 4096))
	// The known garbage plus a second corruption elsewhere in the file.
	second := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))
	second.evidence.got[8200] ^= 0x01
	// Garbage past the polluted page (bytes the pollution never touched).
	beyond := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4100))
	// The right bytes with a value polluteeof never stores.
	wrongValue := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, map[int64]byte{2000: 0x5a})
	// The same deviation on ext4 at 4k is not a recorded finding (no
	// direct write, and bh-new-block needs sub-page blocks).
	ext4 := deviated(t, "ext4", 4096, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))
	vs := []Verdict{exact, subset, second, beyond, wrongValue, ext4}
	ApplyFindings("6.12.117", vs)
	var got []Status
	for _, v := range vs {
		got = append(got, v.Status)
	}
	assert.Equal(t, []Status{Known, Known, Fail, Fail, Fail, Fail}, got)
	assert.Contains(t, vs[0].Finding, "ext2-eof-garbage: ext2 never zeroes")
	assert.Contains(t, vs[0].Line(), "KNOWN ext2     pollute-after-fsync-then-write: kernel finding ext2-eof-garbage; content at offset 1029")

	// Another kernel version is not covered by 6.12 findings.
	other := []Verdict{deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))}
	ApplyFindings("6.13.1", other)
	assert.Equal(t, Fail, other[0].Status)
}

// A failure of a kind the finding does not produce (fsck, eof-tail, size)
// is never KNOWN, even with the garbage matching exactly.
func TestFindingsCoverOnlyTheirFailureKinds(t *testing.T) {
	ops := seq(t, "pwrite 0x0 0x405\nfsync\npolluteeof 0x0 0x0\npwrite 0x2000 0x10\nfsync\n")
	v := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))
	v.Failf("eof-tail", 8208, "non-zero past EOF")
	h := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))
	h.Failf("holes", 2048, "block 2 is data on disk")
	h.evidence.badBlocks = []int64{2} // inside the polluted page: ext2 allocates it
	far := deviated(t, "ext2", 1024, "pollute-after-fsync-then-write", ops, pollutedRun(1029, 4096))
	far.Failf("holes", 5*1024, "block 5 is data on disk")
	far.evidence.badBlocks = []int64{5} // nothing was polluted there
	vs := []Verdict{v, h, far}
	ApplyFindings("6.12.117", vs)
	assert.Equal(t, []Status{Fail, Known, Fail}, []Status{vs[0].Status, vs[1].Status, vs[2].Status})
}

// Where two findings explain the same bytes, the one naming the case is
// reported; the DIO finding needs a direct write after the pollution.
func TestFindingsPreferTheOneNamingTheCase(t *testing.T) {
	dio := seq(t, "pwrite 0x0 0x7b\npolluteeof 0x0 0x0\ndwrite 0x10000 0x400\nfsync\n")
	buffered := seq(t, "pwrite 0x0 0x7b\npolluteeof 0x0 0x0\npwrite 0x10000 0x400\nfsync\n")
	vs := []Verdict{
		deviated(t, "ext4", 1024, "pollute-then-dio-extend", dio, pollutedRun(1024, 4096)),
		deviated(t, "ext4", 4096, "random-ext4-148", dio, pollutedRun(123, 4096)),
		deviated(t, "ext4", 4096, "random-ext4-149", buffered, pollutedRun(123, 4096)),
		deviated(t, "ext4", 1024, "random-ext4-150", buffered, pollutedRun(1024, 4096)),
	}
	ApplyFindings("6.12.117", vs)
	assert.Contains(t, vs[0].Finding, "ext4-dio-extend-eof-garbage:", "named by the case, though bh-new-block explains it too")
	assert.Contains(t, vs[1].Finding, "ext4-dio-extend-eof-garbage:")
	assert.Equal(t, Fail, vs[2].Status, "no direct write, and 4k is not bh-new-block's")
	assert.Contains(t, vs[3].Finding, "bh-new-block-in-uptodate-folio:")
}

// The short-copy finding is flaky (recycled memory), so its bytes may
// hold anything, but only the uncopied part of the short copy.
func TestShortCopyFindingIsBoundedToTheUncopiedBytes(t *testing.T) {
	ops := seq(t, "pwrite 0x746d 0x1\nshortcopy 0x72e4 0x2 copied=0x1\n")
	in := deviated(t, "xfs", 1024, "random-xfs-34", ops, map[int64]byte{0x72e5: 0xf5})
	out := deviated(t, "xfs", 1024, "random-xfs-34", ops, map[int64]byte{0x72e5: 0xf5, 0x72e6: 0x01})
	vs := []Verdict{in, out}
	ApplyFindings("6.12.117", vs)
	assert.Equal(t, Known, vs[0].Status)
	assert.True(t, FlakyFinding(vs[0]))
	assert.Equal(t, Fail, vs[1].Status, "a byte past the short copy's asked range is another bug")
}

// Garbage that writeback zeroed (the EOF folio is written with its tail
// past i_size zeroed) cannot come back when the size grows: a kernel that
// shows it has another bug (a writeback that stopped zeroing), not the
// recorded one. Likewise garbage a truncate down cut off.
func TestPollutionGoneBeforeTheSizeGrowsIsNotKnown(t *testing.T) {
	written := seq(t, "pwrite 0x0 0x405\npolluteeof 0x0 0x0\nfsync\npwrite 0x2000 0x10\n")
	truncated := seq(t, "pwrite 0x0 0x405\npolluteeof 0x0 0x0\ntruncate 0x200\npwrite 0x2000 0x10\n")
	partly := seq(t, "pwrite 0x0 0x405\npolluteeof 0x0 0x0\ntruncate 0xbb8\ntruncate 0x800\npwrite 0x2000 0x10\n")
	vs := []Verdict{
		deviated(t, "ext2", 1024, "w", written, pollutedRun(1029, 4096)),
		deviated(t, "ext2", 1024, "t", truncated, pollutedRun(1029, 2048)),
		deviated(t, "ext2", 1024, "p", partly, pollutedRun(1029, 2048)), // below the new size: still garbage
		deviated(t, "ext2", 1024, "p", partly, pollutedRun(1029, 2049)), // one byte past it
	}
	ApplyFindings("6.12.117", vs)
	assert.Equal(t, []Status{Fail, Fail, Known, Fail}, []Status{vs[0].Status, vs[1].Status, vs[2].Status, vs[3].Status})
}

// A read during the sequence sees the garbage a finding leaves in the page
// cache: covered only where the model says zero and at a byte the
// deviation may change; never where the model has data.
func TestGarbageFindingCoversReadsOfItsBytes(t *testing.T) {
	partly := seq(t, "pwrite 0x0 0x405\npolluteeof 0x0 0x0\ntruncate 0xbb8\ntruncate 0x800\npwrite 0x2000 0x10\n")
	mk := func(read Failure) Verdict {
		v := deviated(t, "ext2", 1024, "p", partly, pollutedRun(1029, 2048))
		v.Failures = append(v.Failures, read)
		return v
	}
	vs := []Verdict{
		mk(Failure{Check: "read", Offset: 1029, ModelZero: true}),
		mk(Failure{Check: "read", Offset: 1029, ModelZero: false}),
		mk(Failure{Check: "read", Offset: 0x3000, ModelZero: true}),
	}
	ApplyFindings("6.12.117", vs)
	assert.Equal(t, []Status{Known, Fail, Fail}, []Status{vs[0].Status, vs[1].Status, vs[2].Status})
}

// random-ext2-18: an O_DIRECT write past EOF exposes the polluted EOF page
// (ext2_dio_write_end_io moves i_size without zeroing it), a read then
// returns the garbage, and a truncate down removes it before the end, so
// the image matches the model. The read alone is the deviation: KNOWN,
// held to the deviation as it stood when the read ran. A read of the same
// bytes before the direct write grew the file past them is still garbage
// the model allows at that point (past EOF a read returns nothing, so the
// judge could not report it there); a read beyond the polluted page is
// not.
func TestGarbageReadKnownThoughTruncatedAway(t *testing.T) {
	ops := seq(t, "pwrite 0x0 0x1388\npolluteeof 0x0 0x0\ndwrite 0x4000 0x1000\nread 0x1000 0x2000\ntruncate 0xfa0\n")
	mk := func(read Failure) Verdict {
		v := deviated(t, "ext2", 4096, "random-ext2-18", ops, nil)
		v.Status = Fail // the image matches the model: the read is the only failure
		v.Failures = append(v.Failures, read)
		return v
	}
	vs := []Verdict{
		mk(Failure{Check: "read", Offset: 5000, ModelZero: true, Msg: "op 3 (read 0x1000 0x2000): 3192 byte(s) differ"}),
		mk(Failure{Check: "read", Offset: 8192, ModelZero: true, Msg: "op 3 (read 0x1000 0x2000): 1 byte(s) differ"}),
		mk(Failure{Check: "read", Offset: 5000, ModelZero: false, Msg: "op 3 (read 0x1000 0x2000): 3192 byte(s) differ"}),
	}
	ApplyFindings("6.12.118", vs)
	assert.Equal(t, []Status{Known, Fail, Fail}, []Status{vs[0].Status, vs[1].Status, vs[2].Status})
	assert.Contains(t, vs[0].Finding, "ext2-eof-garbage:")
}

// A FAIL of an unmodelled finding's case (a repetition too), on its
// filesystem, with only its failure kinds, is marked as fitting it and
// stays a FAIL; another filesystem, case or failure kind fits nothing.
func TestUnmodelledFindingIsNamedNotApplied(t *testing.T) {
	lost := []Failure{
		{Check: "content", Offset: 65600, Msg: "2500 byte(s) are no legal outcome"},
		{Check: "stale-data", Offset: 66560, Msg: "the free-space poison pattern"},
		{Check: "eof-tail", Offset: 68100, Msg: "the on-disk EOF block holds non-zero bytes past EOF"},
	}
	mk := func(fs, name string, fails ...Failure) Verdict {
		return Verdict{Case: name, Disk: fs + "-4k", FS: fs, BlockSize: 4096, Status: Fail, Failures: fails}
	}
	vs := []Verdict{
		mk("gfs2", "race-pressure-append@2", lost...),
		mk("gfs2", "race-append-fdatasync-evict", lost[0]),
		mk("xfs", "race-pressure-append", lost...),
		mk("gfs2", "race-overlap-writers", lost...),
		mk("gfs2", "race-pressure-append", append([]Failure{{Check: "size", Msg: "size 1 want 2"}}, lost...)...),
	}
	ApplyFindings("6.12.118", vs)
	var got []string
	for _, v := range vs {
		assert.Equal(t, Fail, v.Status, v.Case)
		assert.Empty(t, v.Finding, v.Case)
		got = append(got, v.Unmodelled)
	}
	assert.Equal(t, []string{"gfs2-append-fdatasync-lost-data", "gfs2-append-fdatasync-lost-data", "", "", ""}, got)
	assert.True(t, FlakyFinding(vs[0]), "the finding is flaky, so compare tolerates it")
	assert.False(t, FlakyFinding(vs[2]))
}
