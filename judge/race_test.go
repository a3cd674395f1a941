package judge

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/ondisk/mkfs"
)

// raceImage puts content in an ext4-1k image as file /f (mkfs.ext4 -d)
// and returns the reader and the file's inode number.
func raceImage(t *testing.T, content []byte) (ondisk.Reader, uint64) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), content, 0o644))
	img := filepath.Join(t.TempDir(), "img")
	require.NoError(t, mkfs.Make(context.Background(), mkfs.Spec{FS: "ext4", BlockSize: 1024, Size: 8 << 20, Path: img}))
	out, err := exec.Command("mkfs.ext4", "-F", "-q", "-b", "1024", "-E", "nodiscard", "-d", dir, img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Open(img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	rd, err := OpenImage("ext4", f)
	require.NoError(t, err)
	ino, err := rd.Lookup("/f")
	require.NoError(t, err)
	return rd, ino
}

// Two writers over [0, 8192) and [4096, 12288): B whole over A is legal,
// A's bytes on both sides of B's is a torn write, and a race the guest
// ran on one CPU is not judged at all.
func TestCheckRaceOnAnImage(t *testing.T) {
	tg := Target{FS: "ext4", BlockSize: 1024}
	r := &cases.Race{Rounds: 1, Threads: []cases.RaceThread{
		{Ops: []cases.Op{{Kind: cases.PWrite, Off: 0, Len: 8192}}},
		{Ops: []cases.Op{{Kind: cases.PWrite, Off: 4096, Len: 8192}}},
	}}
	plan := cases.FilePlan{Case: "race-x", File: "f", Ops: []cases.Op{{Kind: cases.Fsync}}, Race: r}
	a, b := cases.RaceIndex(0, 0), cases.RaceIndex(1, 0)
	legal := make([]byte, 12288)
	cases.FillData(legal[:8192], a, 0)
	cases.FillData(legal[4096:], b, 4096)
	rr := &cases.RaceResult{CPUs: 2, Threads: make([]cases.RaceThreadResult, 2)}

	rd, ino := raceImage(t, legal)
	v := Verdict{Status: Pass}
	checkRace(&v, tg, false, plan, cases.Result{Ino: ino, Race: rr}, rd)
	assert.Equal(t, Pass, v.Status, "%v", v.Failures)

	torn := append([]byte(nil), legal...)
	cases.FillData(torn[6000:8192], a, 6000)
	rd, ino = raceImage(t, torn)
	v = Verdict{Status: Pass}
	checkRace(&v, tg, false, plan, cases.Result{Ino: ino, Race: rr}, rd)
	require.Equal(t, Fail, v.Status)
	assert.Equal(t, Check("atomicity"), v.Failures[0].Check)

	one := &cases.RaceResult{CPUs: 1, Threads: make([]cases.RaceThreadResult, 2)}
	v = Verdict{Status: Pass}
	checkRace(&v, tg, false, plan, cases.Result{Ino: ino, Race: one}, rd)
	require.Equal(t, Error, v.Status)
	assert.Contains(t, v.Failures[0].Msg, "ran the race on 1 CPU(s), not 2")
}

// A stale large folio over an O_DIRECT write next to mmap stores is a
// recorded finding, but one whose bytes the model cannot predict (a race):
// findings are exact expectations, so it masks nothing and the race's
// failure stays a FAIL until it can be predicted.
func TestDIOMmapFindingMasksNothing(t *testing.T) {
	vs := []Verdict{
		{Disk: "xfs-4k", FS: "xfs", BlockSize: 4096, Case: "race-dio-vs-mmap-neighbour@2", Status: Fail, Failures: []Failure{{Check: "content", Offset: 0, Msg: "x"}}},
		{Disk: "xfs-4k", FS: "xfs", BlockSize: 4096, Case: "race-dio-vs-mmap-neighbour", Status: Fail, Failures: []Failure{{Check: "content", Offset: 0, Msg: "x"}}},
	}
	ApplyFindings("6.12.118", vs)
	assert.Equal(t, Fail, vs[0].Status)
	assert.Equal(t, Fail, vs[1].Status)
	found := false
	for _, f := range Findings {
		found = found || f.ID == "dio-mmap-large-folio-stale"
	}
	assert.True(t, found, "the finding stays recorded")
}
