package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs the built command from the repository root with env added and
// returns its exit status and combined output.
func cli(t *testing.T, bin, root string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}

// Bad input, tried as a hostile user would (issue 12): each is refused
// before anything boots, with exit 2 and a message naming what is wrong;
// no input reaches a Go panic. Some need the kernel source (extracted once
// into the cache), none a kernel build.
func TestBadInputIsNamedWithExit2(t *testing.T) {
	bin, root := buildCLI(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	empty := write("empty.ops", "# nothing\n\n")
	wraps := write("wraps.ops", "pwrite 0x10 0x7ffffffffffffff8\n")
	far := write("far.ops", "pwrite 0x7fffffffffffffff 0x10\n")
	huge := write("huge.ops", "pwrite 0x10000000000 0x10\n")
	emptyDir := filepath.Join(dir, "none")
	require.NoError(t, os.Mkdir(emptyDir, 0o755))
	cover := write("cover/x.mbox", "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/1] cover\n\nno diff\n")
	emptyPatch := write("emptypatch/0001-x.patch", "")
	bare := write("bare/0001-bare.patch", "--- a/fs/iomap/buffered-io.c\n+++ \n@@ -1,3 +1,3 @@\n no such\n-line\n+x\n here\n")
	run := []string{"run", "--agent", "/nonexistent", "--out", filepath.Join(dir, "out")}
	for _, tc := range []struct {
		args []string
		env  []string
		want string
		// src: the check needs the kernel source (skipped by -short).
		src bool
	}{
		{args: append(run, "--random", "-5"), want: "--random: -5 is not a number of sequences"},
		{args: append(run, "--random", "2", "--random-ops", "-3"), want: "--random-ops: -3 is not a number of ops"},
		{args: append(run, "--fs", "ext4,ext4"), want: "--fs: ext4 given twice"},
		{args: append(run, "--fs", "ext2", "--bs", "65536"), want: "--bs: ext2 does not mount with 65536-byte blocks on this kernel (1024 to 4096)"},
		{args: []string{"compare", "--revisions", ","}, want: `--revisions ",": each revision needs a name`},
		{args: []string{"compare", "--revisions", "baseline,v1=" + emptyDir}, want: "series " + emptyDir + " holds no patches"},
		{args: []string{"replay", empty, "--fs", "xfs", "--bs", "4096"}, want: "empty.ops holds no ops"},
		{args: []string{"replay", wraps, "--fs", "xfs", "--bs", "4096"}, want: "offset + length overflows a file offset"},
		{args: []string{"replay", far, "--fs", "xfs", "--bs", "4096"}, want: "offset + length overflows a file offset"},
		{args: []string{"replay", huge, "--fs", "xfs", "--bs", "4096", "--out", filepath.Join(dir, "huge")}, want: "past the model's limit", src: true},
		{args: append(run, "--series", emptyDir), want: "series " + emptyDir + " holds no patches"},
		{args: append(run, "--series", filepath.Dir(cover)), want: "holds no patches"},
		{args: append(run, "--series", filepath.Dir(emptyPatch)), want: "patch 0001-x.patch holds no diff"},
		{args: []string{"series", "check", filepath.Dir(emptyPatch)}, want: "patch 0001-x.patch holds no diff"},
		{args: []string{"series", "check", filepath.Dir(bare)}, env: []string{"TMPDIR=" + dir}, want: "patch 0001-bare.patch does not apply", src: true},
		{args: []string{"bisect", "--series", filepath.Dir(bare)}, env: []string{"TMPDIR=" + dir}, want: "patch 0001-bare.patch does not apply", src: true},
		{args: []string{"series", "check", "kernel/patches/iomap-write-ops/v1"}, env: []string{"PATH=" + t.TempDir()}, want: "needs the patch tool, which is not on PATH (apt-get install patch)", src: true},
	} {
		if tc.src && testing.Short() {
			continue
		}
		code, out := cli(t, bin, root, tc.env, tc.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, out)
		assert.Contains(t, out, tc.want, "%v", tc.args)
		assert.NotContains(t, out, "panic", "%v", tc.args)
		assert.NotContains(t, out, "goroutine ", "%v", tc.args)
	}
	leaked, _ := filepath.Glob(filepath.Join(dir, "iomapct-series-*"))
	assert.Empty(t, leaked, "no staging directory left behind")
}

// Asking for help is not an error, whichever command is asked.
func TestHelpExitsZeroEverywhere(t *testing.T) {
	bin, root := buildCLI(t)
	for _, args := range [][]string{{"-h"}, {"help"}, {"run", "-h"}, {"replay", "-h"}, {"minimise", "-h"}, {"compare", "-h"},
		{"bisect", "-h"}, {"build", "-h"}, {"series", "-h"}, {"series", "check", "-h"}} {
		code, out := cli(t, bin, root, nil, args...)
		assert.Equal(t, exitPass, code, "%v: %s", args, out)
		assert.Regexp(t, "(?i)usage", out, "%v", args)
	}
	code, _ := cli(t, bin, root, nil, "series")
	assert.Equal(t, exitUsage, code)
}
