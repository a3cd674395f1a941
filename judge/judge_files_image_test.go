package judge

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
)

// A two-file case judged from an ext4 image that mkfs.ext4 -d filled with
// the model's bytes: it passes; with one byte of file 1 wrong it fails the
// content check and names file 1.
func TestJudgeChecksEveryFileOfACase(t *testing.T) {
	tg := Target{FS: "ext4", BlockSize: 1024}
	ops, err := cases.ReadSequence(stringsReader(`pwrite 0x0 0x1800
pwrite f=1 0x100 0x900
copyrange 0 0x10 0x5 0x700 f=1
`))
	require.NoError(t, err)
	s, err := reference.RunSet(Geometry(tg, false), ops)
	require.NoError(t, err)
	build := func(f1 []byte) (cases.Result, *os.File) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "c"), s.File(0).Content(), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "c.1"), f1, 0o644))
		img := filepath.Join(t.TempDir(), "img")
		require.NoError(t, mkfs.Make(context.Background(), mkfs.Spec{FS: "ext4", BlockSize: 1024, Size: 8 << 20, Path: img}))
		out, err := exec.Command("mkfs.ext4", "-F", "-q", "-b", "1024", "-E", "nodiscard", "-d", dir, img).CombinedOutput()
		require.NoError(t, err, "%s", out)
		f, err := os.Open(img)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		rd, err := OpenImage("ext4", f)
		require.NoError(t, err)
		i0, err := rd.Lookup("/c")
		require.NoError(t, err)
		i1, err := rd.Lookup("/c.1")
		require.NoError(t, err)
		return cases.Result{Ino: i0, OpsDone: len(ops), Returned: []int64{0x1800, 0x900, 0x700},
			Files: []cases.FileResult{{Index: 1, Ino: i1}}}, f
	}
	plan := cases.FilePlan{Case: "c", File: "c", Ops: ops}

	res, f := build(s.File(1).Content())
	rd, err := OpenImage("ext4", f)
	require.NoError(t, err)
	v := Verdict{Status: Pass}
	checkCase(&v, tg, false, plan, res, rd, false, false)
	assert.Equal(t, Pass, v.Status, "%v", v.Failures)

	bad := s.File(1).Content()
	bad[0x10] ^= 0xff
	res, f = build(bad)
	rd, err = OpenImage("ext4", f)
	require.NoError(t, err)
	v = Verdict{Status: Pass}
	checkCase(&v, tg, false, plan, res, rd, false, false)
	require.Equal(t, Fail, v.Status)
	assert.Equal(t, Check("content"), v.Failures[0].Check)
	assert.Equal(t, int64(0x10), v.Failures[0].Offset)
	assert.Contains(t, v.Failures[0].Msg, "file 1 (c.1): ")

	// copy_file_range's byte count is checked too.
	res.Returned[2] = 0x600
	v = Verdict{Status: Pass}
	checkCase(&v, tg, false, plan, res, rd, false, false)
	var checks []string
	for _, fl := range v.Failures {
		checks = append(checks, string(fl.Check))
	}
	assert.Contains(t, checks, "returned")
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
