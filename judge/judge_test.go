package judge

import (
	"context"
	"encoding/json"
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
	"github.com/iomapct/iomapct/vmtest/proto"
)

// judgeImage plays the guest without a VM: it writes what the model
// predicts into a directory, lets the pinned mkfs.ext4 (-d) put it in an image, and
// returns the reader and the guest-style result for the file.
func judgeImage(t *testing.T, content []byte) (cases.FilePlan, cases.Result, *os.File) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), content, 0o644))
	img := filepath.Join(t.TempDir(), "img")
	spec := mkfs.Spec{FS: "ext4", BlockSize: 1024, Size: 8 << 20, Path: img}
	require.NoError(t, mkfs.Make(context.Background(), spec)) // poisoned free space
	// The production format (mkfs.Args), populated from dir: mke2fs -d
	// writes the file at mkfs time, over the poisoned image.
	args, err := mkfs.Args(spec)
	require.NoError(t, err)
	args = append(args[:len(args)-1:len(args)-1], "-d", dir, img)
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := os.Open(img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	rd, err := OpenImage("ext4", f)
	require.NoError(t, err)
	ino, err := rd.Lookup("/f")
	require.NoError(t, err)
	c, _ := cases.Lookup("straddle-beyond-eof")
	ops, err := c.Ops(1024)
	require.NoError(t, err)
	return cases.FilePlan{Case: c.Name, File: "f", Ops: ops}, cases.Result{Ino: ino, OpsDone: len(ops)}, f
}

func TestJudgePassesWhatTheModelPredicts(t *testing.T) {
	tg := Target{FS: "ext4", BlockSize: 1024}
	c, _ := cases.Lookup("straddle-beyond-eof")
	ops, _ := c.Ops(1024)
	m, err := reference.Run(Geometry(tg, false), ops)
	require.NoError(t, err)
	plan, res, f := judgeImage(t, m.Content())
	rd, err := OpenImage("ext4", f)
	require.NoError(t, err)

	v := Verdict{Status: Pass}
	checkCase(&v, tg, false, plan, res, rd, false, false)
	assert.Equal(t, Pass, v.Status, "%v", v.Failures)

	// The test hook flips the first non-zero expected byte: the verdict
	// must fail and name that offset.
	v = Verdict{Status: Pass, Disk: "ext4-1k", Case: c.Name}
	checkCase(&v, tg, false, plan, res, rd, true, false)
	require.Equal(t, Fail, v.Status)
	first := int64(2*1024 + 1024 - 100) // the write's offset: everything before it is zero
	require.Equal(t, Check("content"), v.Failures[0].Check)
	assert.Equal(t, first, v.Failures[0].Offset)
	assert.False(t, v.Failures[0].ModelZero, "the flipped byte is one the model has data for")
	assert.Contains(t, v.Line(), "FAIL  ext4-1k  straddle-beyond-eof: content at offset 2972 (0xb9c)")
}

func TestJudgeFindsWrongBytesAndPoison(t *testing.T) {
	tg := Target{FS: "ext4", BlockSize: 1024}
	c, _ := cases.Lookup("straddle-beyond-eof")
	ops, _ := c.Ops(1024)
	m, err := reference.Run(Geometry(tg, false), ops)
	require.NoError(t, err)
	bad := m.Content()
	copy(bad[100:], mkfs.Poison) // stale data in the gap before the write
	plan, res, f := judgeImage(t, bad)
	rd, err := OpenImage("ext4", f)
	require.NoError(t, err)
	v := Verdict{Status: Pass}
	checkCase(&v, tg, false, plan, res, rd, false, false)
	require.Equal(t, Fail, v.Status)
	var checks []Check
	for _, fl := range v.Failures {
		checks = append(checks, fl.Check)
	}
	assert.Contains(t, checks, Check(CheckContent))
	assert.Contains(t, checks, Check(CheckStaleData))
	assert.Equal(t, int64(100), v.Failures[0].Offset)
	assert.Contains(t, v.Failures[0].Msg, "the model says zero")
	assert.True(t, v.Failures[0].ModelZero)
}

// A WARN recorded from the real kernel (vmtest/crash/testdata) among the
// kernel lines of a case fails it; a plain warning-level notice does not.
func TestKernelReportFailsTheCase(t *testing.T) {
	con, err := os.ReadFile("../vmtest/crash/testdata/warning.log")
	require.NoError(t, err)
	v := Verdict{Status: Pass}
	KernelReports(&v, strings.Split(string(con), "\n"))
	require.Equal(t, Fail, v.Status)
	assert.Equal(t, Check("console"), v.Failures[0].Check)
	assert.Contains(t, v.Failures[0].Msg, "kernel warning during the case: WARNING in lkdtm_WARNING")

	quiet := Verdict{Status: Pass}
	KernelReports(&quiet, []string{"[    2.728080] ext2 filesystem being mounted at /mnt/ext2-1k supports timestamps until 2038-01-19 (0x7fffffff)"})
	assert.Equal(t, Pass, quiet.Status)
	assert.Len(t, quiet.Console, 1)
}

// A case the guest reported on a disk it never unmounted (it died in a
// later case) is not judged against the image, which may lack its data:
// it is an error that says why, never a content failure, and the disk's
// own verdict names the missing unmount.
func TestJudgeSkipsImageOfDiskNeverUnmounted(t *testing.T) {
	plan, res, _ := judgeImage(t, []byte("x"))
	out := t.TempDir()
	o := Config{Out: out, Revision: "baseline"}
	p := &cases.Plan{Disks: []cases.DiskPlan{{Name: "ext4-1k", FS: "ext4", BlockSize: 1024, Files: []cases.FilePlan{plan}}}}
	res.Disk, res.Case = "ext4-1k", plan.Case
	data, err := json.Marshal(res)
	require.NoError(t, err)
	records := []proto.Record{{Type: proto.Result, Name: "ext4-1k/" + plan.Case, Data: data}}
	vs := Judge(context.Background(), o, p, records, NewCalloutCheck(nil))
	require.Len(t, vs, 2)
	byCase := map[string]Verdict{}
	for _, v := range vs {
		byCase[v.Case] = v
	}
	c := byCase[plan.Case]
	assert.Equal(t, Error, c.Status)
	require.Len(t, c.Failures, 1)
	assert.Equal(t, Check("crash"), c.Failures[0].Check)
	assert.Contains(t, c.Failures[0].Msg, "never unmounted ext4-1k")
	fs := byCase["(unmount+fsck)"]
	assert.Equal(t, Error, fs.Status)
	assert.Contains(t, fs.Failures[0].Msg, "never unmounted")
}

// A trace the guest could not trust (the ring buffer dropped events) is
// reported as such where the callouts would be compared, never compared.
func TestJudgeReportsAnUnusableTrace(t *testing.T) {
	c, _ := cases.Lookup("straddle-beyond-eof")
	ops, err := c.Ops(1024)
	require.NoError(t, err)
	m, err := reference.Run(Geometry(Target{FS: "ext4", BlockSize: 1024}, false), ops)
	require.NoError(t, err)
	plan, res, img := judgeImage(t, m.Content())
	out := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(out, "images"), 0o755))
	b, err := os.ReadFile(img.Name())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(ImagePath(out, "ext4-1k"), b, 0o644))
	o := Config{Out: out, Revision: "v2"}
	p := &cases.Plan{Disks: []cases.DiskPlan{{Name: "ext4-1k", FS: "ext4", BlockSize: 1024, Files: []cases.FilePlan{plan}}}}
	res.Disk, res.Case = "ext4-1k", plan.Case
	res.TraceErr = "the trace ring buffer dropped events"
	data, err := json.Marshal(res)
	require.NoError(t, err)
	umount, err := json.Marshal(cases.DiskResult{Disk: "ext4-1k"})
	require.NoError(t, err)
	records := []proto.Record{
		{Type: proto.Result, Name: "ext4-1k/" + plan.Case, Data: data},
		{Type: proto.Unmount, Name: "ext4-1k", Data: umount},
	}
	for _, v := range Judge(context.Background(), o, p, records, NewCalloutCheck([]string{evBegin, evEnd})) {
		if v.Case != plan.Case {
			continue
		}
		require.Equal(t, Error, v.Status, "%v", v.Failures)
		require.Len(t, v.Failures, 1)
		assert.Equal(t, Check("callouts"), v.Failures[0].Check)
		assert.Contains(t, v.Failures[0].Msg, "not compared: the trace ring buffer dropped events")
		return
	}
	t.Fatal("no verdict for the case")
}
