package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/kernel"
)

// ktapReport has every status, a '#' in a message and a multi-line message.
func ktapReport() *Report {
	return &Report{Revision: "v2", SourceID: "linux-6.12.118 tarball", SeriesID: "bf272d83a9aedf5d", Patches: 4,
		Verdicts: []Verdict{
			{Case: "a", Disk: "ext2-1k", Status: Pass},
			{Case: "b", Disk: "ext2-1k", Status: Fail, Failures: []Failure{{Check: "content", Offset: 3, Msg: "1 byte(s) differ #1\nsecond line"}}},
			{Case: "c", Disk: "ext2-1k", Status: Known, Finding: "ext2-eof-garbage: why", Failures: []Failure{{Check: "content", Offset: 9, Msg: "x"}}},
			{Case: "a", Disk: "xfs-4k", Status: Pass},
			{Case: "d", Disk: "xfs-4k", Status: Skip, Failures: []Failure{{Check: "unsupported", Offset: -1, Msg: "no fallocate"}}},
			{Case: "e", Disk: "gfs2-4k", Status: Error, Failures: []Failure{{Check: "crash", Offset: -1, Msg: "the guest never reported this case"}}},
			{Case: "f", Disk: "gfs2-1k", Status: Skip},
		}}
}

func TestKTAPFormat(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteKTAP(&b, ktapReport()))
	want := `KTAP version 1
# iomapct v2: kernel linux-6.12.118 tarball, series bf272d83a9aedf5d (4 patches)
1..4
  KTAP version 1
  # Subtest: ext2-1k
  1..3
  ok 1 a
  # b: content at offset 3 (0x3): 1 byte(s) differ No.1 second line
  not ok 2 b
  # c: content at offset 9 (0x9): x
  ok 3 c # SKIP known kernel finding ext2-eof-garbage
not ok 1 ext2-1k
  KTAP version 1
  # Subtest: xfs-4k
  1..2
  ok 1 a
  # d: unsupported: no fallocate
  ok 2 d # SKIP unsupported: no fallocate
ok 2 xfs-4k
  KTAP version 1
  # Subtest: gfs2-4k
  1..1
  # e: crash: the guest never reported this case
  not ok 1 e # ERROR crash: the guest never reported this case
not ok 3 gfs2-4k
  KTAP version 1
  # Subtest: gfs2-1k
  1..1
  ok 1 f # SKIP 
ok 4 gfs2-1k # SKIP every case skipped
`
	assert.Equal(t, want, b.String())
}

// TestKTAPKunitParse feeds the KTAP to the kernel's own parser, kunit.py
// from the 6.12 tarball, and holds its counts to the human summary's.
func TestKTAPKunitParse(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the kernel tarball extracted (kunit.py); runs in make test")
	}
	cache, err := kernel.CacheDir()
	require.NoError(t, err)
	src, err := kernel.FromTarball(context.Background(), cache, kernel.DebianTarball)
	require.NoError(t, err, "kunit.py ships in Debian's linux-source-6.12 (make deps installs it)")
	_, err = exec.LookPath("python3")
	require.NoError(t, err, "kunit.py needs python3: apt-get install python3")

	r := ktapReport()
	file := filepath.Join(t.TempDir(), "report.ktap")
	var b bytes.Buffer
	require.NoError(t, WriteKTAP(&b, r))
	require.NoError(t, os.WriteFile(file, b.Bytes(), 0o644))

	got := kunitCounts(t, src.Dir, file)
	// PrintHuman's closing line: KNOWN and SKIP are skipped, ERROR failed.
	assert.Equal(t, map[string]int{"passed": 2, "failed": 2, "skipped": 3}, got)
}

// kunitCounts runs kunit.py parse on file and returns its closing counts.
func kunitCounts(t *testing.T, kernelDir, file string) map[string]int {
	t.Helper()
	cmd := exec.Command("python3", filepath.Join(kernelDir, "tools/testing/kunit/kunit.py"), "parse", file)
	// kunit.py would write __pycache__ into the shared, read-only-by-
	// convention source tree.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, _ := cmd.CombinedOutput() // exits 1 when a test failed: the counts are what matter
	m := regexp.MustCompile(`Testing complete\. Ran (\d+) tests: (.*)`).FindSubmatch(out)
	require.NotNil(t, m, "kunit.py parse printed no summary:\n%s", out)
	counts := map[string]int{}
	for _, kv := range regexp.MustCompile(`(\w+): (\d+)`).FindAllSubmatch(m[2], -1) {
		n, _ := strconv.Atoi(string(kv[2]))
		counts[string(kv[1])] = n
	}
	total, _ := strconv.Atoi(string(m[1]))
	sum := 0
	for _, n := range counts {
		sum += n
	}
	require.Equal(t, total, sum-counts["errors"], "kunit.py's total against its own counts:\n%s", out)
	assert.Zero(t, counts["errors"], "kunit.py found errors in our KTAP:\n%s", out)
	return counts
}
