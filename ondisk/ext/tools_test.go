package ext

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// needTool fails (never skips) when a tool the tests depend on is missing,
// saying which Debian package provides it.
func needTool(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found in PATH: apt-get install %s", name, pkg)
	}
}

// needsRoot fails a test that loop-mounts an image when it does not run as
// root: mount -o loop needs CAP_SYS_ADMIN and a loop device, and without
// them the failure would read as a mount error, not as the set-up it is.
func needsRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test loop-mounts images and needs root (euid %d): run the tests as root (make test does on the project's machine)", os.Geteuid())
	}
}

// poison is written over the whole image file before mkfs, so any byte
// the filesystem never wrote (free space, unwritten extents, slack after
// EOF) shows up as stale data.
var poison = []byte("POISON!\n")

// poisonedImage creates an image file of size bytes filled with poison.
func poisonedImage(t testing.TB, path string, size int64) {
	t.Helper()
	chunk := bytes.Repeat(poison, 8192)
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	for written := int64(0); written < size; {
		n := min(int64(len(chunk)), size-written)
		_, err := f.Write(chunk[:n])
		require.NoError(t, err)
		written += n
	}
}

// run runs a command and returns its stdout, failing with stderr on error.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstderr: %s\nstdout: %s", name, strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String()
}

// mkfsConfig pins every option that changes the on-disk format.
type mkfsConfig struct {
	name      string
	tool      string // mkfs.ext2 or mkfs.ext4
	blockSize int
	features  string // -O argument, may be empty
	sizeKiB   int64
	extra     []string
}

// makeImage builds a poisoned image from the tree in src with mkfs -d.
func makeImage(t testing.TB, cfg mkfsConfig, src string) string {
	t.Helper()
	needTool(t, cfg.tool, "e2fsprogs")
	img := filepath.Join(t.TempDir(), cfg.name+".img")
	poisonedImage(t, img, cfg.sizeKiB*1024)
	args := []string{"-F", "-q", "-E", "nodiscard", "-b", fmt.Sprint(cfg.blockSize)}
	if cfg.features != "" {
		args = append(args, "-O", cfg.features)
	}
	args = append(args, cfg.extra...)
	args = append(args, "-d", src, img, fmt.Sprintf("%dk", cfg.sizeKiB))
	run(t, cfg.tool, args...)
	return img
}

// debugfsCmds runs a batch of debugfs requests in one process (write
// access when write is set) and returns each request's output, split on
// the "debugfs: CMD" echo lines that -f prints.
func debugfsCmds(t testing.TB, img string, write bool, cmds ...string) []string {
	t.Helper()
	needTool(t, "debugfs", "e2fsprogs")
	script := filepath.Join(t.TempDir(), "debugfs.cmds")
	require.NoError(t, os.WriteFile(script, []byte(strings.Join(cmds, "\n")+"\n"), 0o644))
	args := []string{"-f", script}
	if write {
		args = append([]string{"-w"}, args...)
	}
	out := run(t, "debugfs", append(args, img)...)
	var res []string
	cur := -1
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, "debugfs: ") && cur+1 < len(cmds) && strings.TrimSpace(strings.TrimPrefix(line, "debugfs: ")) == strings.TrimSpace(cmds[cur+1]) {
			cur++
			res = append(res, "")
			continue
		}
		if cur >= 0 {
			res[cur] += line
		}
	}
	require.Len(t, res, len(cmds), "debugfs output did not echo every command:\n%s", out)
	return res
}

// runStatus runs a command and returns its combined output and error.
func runStatus(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
