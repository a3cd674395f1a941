package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFindingsCoverOnlyWhatTheyRecord(t *testing.T) {
	fail := func(fs string, bs int64, c string, checks ...Check) Verdict {
		v := Verdict{FS: fs, BlockSize: bs, Case: c, Disk: fs, Status: Fail}
		for _, ch := range checks {
			// The recorded deviations all leave garbage where the model
			// says zero.
			v.Failures = append(v.Failures, Failure{Check: ch, Offset: 1, ModelZero: ch == "content"})
		}
		return v
	}
	vs := []Verdict{
		fail("ext2", 1024, "pollute-then-write-far", "content", "holes"),
		fail("ext2", 1024, "pollute-then-write-far", "content", "fsck"),             // fsck is not part of it
		fail("ext4", 4096, "pollute-then-mmapwrite-extend", "content"),              // only sub-page blocks
		fail("ext4", 1024, "pollute-then-mmapwrite-extend", "content"),              // covered
		fail("xfs", 4096, "shortcopy-hole-recycled-page", "content"),                // covered
		fail("gfs2", 4096, "shortcopy-hole-recycled-page", "content"),               // not observed on gfs2
		{FS: "ext2", BlockSize: 1024, Case: "pollute-then-write-far", Status: Pass}, // passing stays PASS
		withOps(fail("xfs", 1024, "random-xfs-34", "content"), "pwrite 0x746d 0x1", "shortcopy 0x72e4 0x2 copied=0x1"),
		withOps(fail("xfs", 1024, "random-xfs-35", "content"), "pwrite 0x746d 0x1", "fsync"), // no trigger op
		wrongData(withOps(fail("xfs", 1024, "random-xfs-36", "content"), "shortcopy 0x72e4 0x2 copied=0x1")),
		wrongData(fail("ext2", 1024, "pollute-then-write-far", "content")), // wrong data is not garbage
	}
	applyFindings("6.12.117", vs)
	var got []Status
	for _, v := range vs {
		got = append(got, v.Status)
	}
	assert.Equal(t, []Status{Known, Fail, Fail, Known, Known, Fail, Pass, Known, Fail, Fail, Fail}, got)
	assert.Contains(t, vs[0].Finding, "ext2-eof-garbage: ext2 never zeroes")
	assert.Contains(t, vs[0].Line(), "KNOWN ext2     pollute-then-write-far: kernel finding ext2-eof-garbage; content at offset 1")

	// Another kernel version is not covered by 6.12 findings.
	other := []Verdict{fail("xfs", 4096, "shortcopy-hole-recycled-page", "content")}
	applyFindings("6.13.1", other)
	assert.Equal(t, Fail, other[0].Status)
}

// wrongData makes the verdict's content failure one at a byte the model
// has data for.
func wrongData(v Verdict) Verdict {
	for i := range v.Failures {
		v.Failures[i].ModelZero = false
	}
	return v
}

func withOps(v Verdict, ops ...string) Verdict {
	v.Ops = ops
	return v
}

// A finding that names the case wins over a broader one matched by an op;
// an op-matched finding with AndOp needs both ops.
func TestFindingsPreferTheOneNamingTheCase(t *testing.T) {
	fail := func(bs int64, c string, ops ...string) Verdict {
		return Verdict{FS: "ext4", BlockSize: bs, Case: c, Disk: "ext4", Status: Fail, Ops: ops,
			Failures: []Failure{{Check: "content", Offset: 123, ModelZero: true}}}
	}
	vs := []Verdict{
		fail(1024, "pollute-then-dio-extend", "pwrite 0x0 0x7b", "polluteeof 0x0 0x0", "dwrite 0x10000 0x400", "fsync"),
		fail(4096, "random-ext4-148", "truncate 0x70659", "polluteeof 0x0 0x0", "dwrite 0x79000 0x7000"),
		fail(4096, "random-ext4-149", "truncate 0x70659", "polluteeof 0x0 0x0", "pwrite 0x79000 0x7000"),
		fail(1024, "random-ext4-150", "truncate 0x70659", "polluteeof 0x0 0x0", "pwrite 0x79000 0x7000"),
	}
	applyFindings("6.12.117", vs)
	assert.Contains(t, vs[0].Finding, "ext4-dio-extend-eof-garbage:", "named by the case, though bh-new-block's op matches too")
	assert.Contains(t, vs[1].Finding, "ext4-dio-extend-eof-garbage:")
	assert.Equal(t, Fail, vs[2].Status, "polluteeof without a direct write is not the DIO finding, and 4k is not bh-new-block's")
	assert.Contains(t, vs[3].Finding, "bh-new-block-in-uptodate-folio:")
}

// A read during the sequence sees the garbage a garbage finding leaves in
// the page cache: covered where the model says zero, not where it has data.
func TestGarbageFindingCoversReadsOfZeroBytes(t *testing.T) {
	v := Verdict{Case: "random-ext2-18", FS: "ext2", BlockSize: 1024, Status: Fail,
		Ops:      []string{"pwrite 0x0 0x10", "polluteeof", "read 0x0 0x1000"},
		Failures: []Failure{{Check: "read", Offset: 0x400, ModelZero: true}}}
	f := matchFinding("6.12.118", v)
	if f == nil || f.ID != "ext2-eof-garbage" {
		t.Fatalf("read of garbage where the model says zero: want ext2-eof-garbage, got %v", f)
	}
	v.Failures[0].ModelZero = false
	if f := matchFinding("6.12.118", v); f != nil {
		t.Fatalf("read of wrong data where the model has data: covered by %s", f.ID)
	}
}
