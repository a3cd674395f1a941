package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/coverage"
)

// TestCoverageReachesWriteBegin runs `iomapct coverage` for real on one
// filesystem and three cases: the gcov kernel must report that the line
// of __iomap_write_begin that reads a partial block's old bytes ran (a
// cold read-modify-write at 1k blocks does), name the case that first
// reached it, and write a tracefile lcov accepts. Warm: about 15-20 s.
// Cold, it first builds the gcov kernel, a full kernel build that ccache
// cannot shorten (CONFIG_GCOV_KERNEL changes autoconf.h): about as long
// as the normal cold build, 4-5 minutes on an idle machine, 38 minutes at
// load 25 (BENCHMARKS.md, "Kernel coverage").
func TestCoverageReachesWriteBegin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a gcov kernel and boots it")
	}
	_, err := exec.LookPath("lcov")
	require.NoError(t, err, "lcov is in Debian's lcov package: ./scripts/deps.sh installs it")
	bin, root := buildCLI(t)
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, "coverage", "--fs", "xfs", "--bs", "1024",
		"--cases", "straddle-beyond-eof,rmw-cold-head-of-block,zero-range-partial-block", "--out", out)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("iomapct coverage:\n%s\n%s", stderr.String(), stdout.String())
	require.NoError(t, err)
	assert.Contains(t, stdout.String(), "iomap buffered write (fs/iomap/buffered-io.c): ")

	b, err := os.ReadFile(filepath.Join(out, "coverage", "coverage.json"))
	require.NoError(t, err)
	var rep coverage.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	f := rep.File("fs/iomap/buffered-io.c")
	require.NotNil(t, f)
	src, err := os.ReadFile(f.Path)
	require.NoError(t, err)
	var wb *coverage.FuncRange
	for _, r := range coverage.SourceFunctions(string(src)) {
		if r.Name == "__iomap_write_begin" {
			wb = &r
		}
	}
	require.NotNil(t, wb, "__iomap_write_begin in %s", f.Path)
	readLine := 0
	for i, l := range strings.Split(string(src), "\n")[wb.Start-1 : wb.End] {
		if strings.Contains(l, "iomap_read_folio_sync(") {
			readLine = wb.Start + i
		}
	}
	require.NotZero(t, readLine, "__iomap_write_begin calls iomap_read_folio_sync")
	l, ok := f.Line(readLine)
	require.True(t, ok, "line %d is executable", readLine)
	assert.Positive(t, l.Count, "fs/iomap/buffered-io.c:%d (iomap_read_folio_sync in __iomap_write_begin) ran", readLine)
	assert.Equal(t, "xfs-1k/rmw-cold-head-of-block", l.First, "the cold read-modify-write is the first case that reads a block's old bytes")

	sum, err := exec.Command("lcov", "--summary", filepath.Join(out, "coverage", "coverage.info")).CombinedOutput()
	require.NoError(t, err, "%s", sum)
	assert.Contains(t, string(sum), "lines......: ")
}
