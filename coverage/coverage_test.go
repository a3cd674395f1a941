package coverage

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/toy is made by testdata/make-toy.sh: fs/toy.c built like a
// kernel object, and three cumulative snapshots of its counters.

func TestParseGcovJSONRecorded(t *testing.T) {
	b, err := os.ReadFile("testdata/toy/gcov.json")
	require.NoError(t, err)
	c, err := ParseGcovJSON(b, "fs/toy.c")
	require.NoError(t, err)
	// The inlined helper's lines are counted (5, 6) though gcov lists no
	// function for it; lines without code (7, 19) are absent.
	assert.Equal(t, map[int]int64{5: 12, 6: 2, 10: 3, 14: 15, 15: 12, 16: 3, 17: 0, 18: 0, 23: 3, 25: 3}, c.Lines)
	assert.Equal(t, []GcovFunc{{"work", 10, 21, 3}, {"main", 23, 27, 3}}, c.Funcs)

	_, err = ParseGcovJSON(b, "fs/other.c")
	assert.ErrorContains(t, err, "names no file ending in fs/other.c")
	_, err = ParseGcovJSON([]byte(`{"format_version":"2","gcc_version":"14.1.0","files":[]}`), "fs/toy.c")
	assert.ErrorContains(t, err, `format_version "2" (gcc 14.1.0)`)
}

func toyStreams(t *testing.T) []Stream {
	var snaps []Snapshot
	for i, step := range []string{"a-1k/mount", "a-1k/one-arg", "a-1k/four-args"} {
		b, err := os.ReadFile(filepath.Join("testdata/toy/snapshots", []string{"1", "2", "3"}[i]+".gcda"))
		require.NoError(t, err)
		snaps = append(snaps, Snapshot{Step: step, Index: i + 1, Gcda: b})
	}
	// A second guest, later in plan order, whose only snapshot is the
	// third: its counts add up, but it reached nothing first.
	other := snaps[2]
	other.Step = "b-4k/late"
	return []Stream{{"fs/toy": snaps}, {"fs/toy": {other}}}
}

func analyseToy(t *testing.T) (*Report, *Gcov) {
	g := &Gcov{Notes: "testdata/toy/notes"}
	r, err := Analyse(g, []string{"fs/toy"}, toyStreams(t), DiskOrder([]string{"a-1k", "b-4k"}))
	require.NoError(t, err)
	return r, g
}

func TestAnalyseCountsAndFirstStep(t *testing.T) {
	r, g := analyseToy(t)
	require.Len(t, r.Files, 1)
	f := r.File("fs/toy.c")
	require.NotNil(t, f)
	l, ok := f.Line(6)
	require.True(t, ok)
	assert.Equal(t, Line{N: 6, Count: 4, First: "a-1k/four-args"}, l, "x > 3 first happens with four arguments; both guests' counts add")
	l, _ = f.Line(5)
	assert.Equal(t, Line{N: 5, Count: 24, First: "a-1k/mount"}, l)
	l, _ = f.Line(17)
	assert.Equal(t, Line{N: 17, Count: 0}, l)
	_, ok = f.Line(7)
	assert.False(t, ok, "line 7 compiled to no code")

	work := f.Function("work")
	require.NotNil(t, work)
	assert.Equal(t, []int{10, 14, 15, 16, 17, 18}, work.Lines)
	assert.Equal(t, 4, work.Reached)
	assert.Equal(t, int64(6), work.Calls)
	assert.Equal(t, []int{17, 18}, f.Unreached(work))
	helper := f.Function("helper")
	require.NotNil(t, helper, "an inlined function is found in the source")
	assert.Equal(t, int64(24), helper.Calls, "its first line's count stands for its calls")
	// Bisection: the first guest's last snapshot (2), its middle (0),
	// then, for line 6 only, the one between (1); the second guest's only
	// snapshot once.
	assert.Equal(t, 4, g.Runs())
}

func TestPrintGroupListsUnreached(t *testing.T) {
	r, _ := analyseToy(t)
	var b bytes.Buffer
	PrintGroup(&b, r, group("toy", "fs/toy.c", "work", "helper", "gone"))
	assert.Equal(t, "toy: 6/8 lines (75.0%)\n"+
		"  work                                    4/6      66.7%  unreached: 17-18\n"+
		"  helper                                  2/2     100.0%\n"+
		"  not in this kernel's sources (or no code): fs/toy.c:gone\n", b.String())
	b.Reset()
	PrintFirst(&b, r, []Group{group("toy", "fs/toy.c", "helper")})
	assert.Equal(t, "toy, first reached by:\n  helper\n    a-1k/mount                                       5\n    a-1k/four-args                                   6\n", b.String())
}

func TestRanges(t *testing.T) {
	assert.Equal(t, "1, 3-5, 9", Ranges([]int{1, 3, 4, 5, 9}))
	assert.Equal(t, "", Ranges(nil))
}

// lcov itself must accept the tracefile: its summary reads back the
// counts, and genhtml renders it against the kept source.
func TestLCOVAcceptedByLcovAndGenhtml(t *testing.T) {
	for _, tool := range []string{"lcov", "genhtml"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "%s is in Debian's lcov package: ./scripts/deps.sh installs it", tool)
	}
	r, _ := analyseToy(t)
	dir := t.TempDir()
	info := filepath.Join(dir, "coverage.info")
	var b bytes.Buffer
	require.NoError(t, WriteLCOV(&b, "toy", r))
	assert.Contains(t, b.String(), "FN:3,helper\n")
	assert.Contains(t, b.String(), "DA:6,4\n")
	require.NoError(t, os.WriteFile(info, b.Bytes(), 0o644))
	// The tracefile names the source by path: make it absolute.
	abs, err := filepath.Abs("testdata/toy/notes/src/fs/toy.c")
	require.NoError(t, err)
	r.Files[0].Path = abs
	b.Reset()
	require.NoError(t, WriteLCOV(&b, "toy", r))
	require.NoError(t, os.WriteFile(info, b.Bytes(), 0o644))

	out, err := exec.Command("lcov", "--summary", info).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "lines......: 80.0% (8 of 10 lines)")
	assert.Contains(t, string(out), "functions..: 100.0% (3 of 3 functions)")

	html := filepath.Join(dir, "html")
	out, err = exec.Command("genhtml", "--quiet", "-o", html, info).CombinedOutput()
	require.NoError(t, err, "%s", out)
	page, err := os.ReadFile(filepath.Join(html, "index.html"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(page), "80.0"), "genhtml's index shows the line rate")
}

// Recorded from the real 6.12 gcov kernel (VM 0 of a --random 200 run,
// fs/xfs/xfs_aops.gcda after xfs-4k/umount): gcov lists the object's
// source and the 20 headers whose inline functions it compiled; only the
// source's lines count, and xfs_aops.c has 160 executable lines.
func TestParseGcovJSONRecordedKernel(t *testing.T) {
	b, err := os.ReadFile("testdata/kernel/xfs_aops.gcov.json")
	require.NoError(t, err)
	c, err := ParseGcovJSON(b, "fs/xfs/xfs_aops.c")
	require.NoError(t, err)
	assert.Len(t, c.Lines, 160)
	reached := 0
	for _, n := range c.Lines {
		if n > 0 {
			reached++
		}
	}
	assert.Equal(t, 105, reached)
	assert.Equal(t, int64(0), c.Lines[297], "the COW fork lookup of xfs_map_blocks needs a reflinked file")
	calls := map[string]int64{}
	for _, f := range c.Funcs {
		calls[f.Name] = f.ExecutionCount
	}
	assert.Equal(t, int64(4008), calls["xfs_vm_writepages"])
	assert.Equal(t, int64(9091), calls["xfs_map_blocks"])
	_, err = ParseGcovJSON(b, "fs/xfs/aops.c")
	assert.Error(t, err, "a suffix must match whole path components")
}
