package xfs

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests build real images with xfsprogs and compare this reader with
// xfs_db's own view of them.

// poison fills every image before mkfs; mkfs runs with -K (no discard) so
// stale free space keeps it and any stray read of it shows.
var poison = []byte("POISON!\n")

func requireTool(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: apt-get install %s", name, pkg)
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

func requireXFSTools(t testing.TB) {
	requireTool(t, "mkfs.xfs", "xfsprogs")
	requireTool(t, "xfs_db", "xfsprogs")
	requireTool(t, "xfs_io", "xfsprogs")
}

// mkfsConfig is one pinned mkfs.xfs configuration.
type mkfsConfig struct {
	BlockSize int
	Nrext64   bool
	SizeMiB   int
	AGCount   int // 0: mkfs default
}

func (c mkfsConfig) String() string {
	return fmt.Sprintf("bs%d-nrext64=%v", c.BlockSize, c.Nrext64)
}

// mkfsArgs are the options the project pins (xfsprogs 6.1.0 accepts them
// all; nrext64 needs an explicit value there, its default is 0).
func (c mkfsConfig) mkfsArgs(img string, extra ...string) []string {
	n := "0"
	if c.Nrext64 {
		n = "1"
	}
	args := []string{"-q", "-f", "-K", "-b", fmt.Sprintf("size=%d", c.BlockSize),
		"-m", "crc=1,reflink=1,rmapbt=0", "-i", "nrext64=" + n}
	if c.AGCount > 0 {
		args = append(args, "-d", fmt.Sprintf("agcount=%d", c.AGCount))
	}
	return append(append(args, extra...), img)
}

// mkfsEnv lets xfsprogs >= 5.19 make filesystems below its 300 MB floor;
// it honours the exemption only when all three xfstests variables are set.
func mkfsEnv() []string {
	return append(os.Environ(), "TEST_DIR=1", "TEST_DEV=1", "QA_CHECK_FS=1")
}

// makeImage creates a poisoned image file and runs mkfs.xfs on it.
func makeImage(t testing.TB, c mkfsConfig, extra ...string) string {
	t.Helper()
	requireXFSTools(t)
	img := filepath.Join(t.TempDir(), c.String()+".img")
	size := c.SizeMiB << 20
	require.NoError(t, os.WriteFile(img, bytes.Repeat(poison, size/len(poison)), 0o600))
	cmd := exec.Command("mkfs.xfs", c.mkfsArgs(img, extra...)...)
	cmd.Env = mkfsEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mkfs.xfs %v: %s", c.mkfsArgs(img, extra...), out)
	return img
}

// withMount loop-mounts img, runs fn on the mount point and unmounts.
func withMount(t testing.TB, img string, fn func(mnt string)) {
	t.Helper()
	needsRoot(t)
	requireTool(t, "mount", "mount")
	mnt := t.TempDir()
	out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput()
	require.NoError(t, err, "mount -o loop %s (the tests need root and loop devices): %s", img, out)
	mounted := true
	defer func() {
		if mounted {
			_ = exec.Command("umount", mnt).Run()
		}
	}()
	fn(mnt)
	out, err = exec.Command("umount", mnt).CombinedOutput()
	require.NoError(t, err, "umount %s: %s", mnt, out)
	mounted = false
}

func xfsIO(t testing.TB, file string, cmds ...string) {
	t.Helper()
	args := []string{"-f"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.Command("xfs_io", append(args, file)...).CombinedOutput()
	require.NoError(t, err, "xfs_io %v %s: %s", cmds, file, out)
}

// xfsDB runs read-only xfs_db commands on img.
func xfsDB(t testing.TB, img string, cmds ...string) string {
	t.Helper()
	args := []string{"-r"}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.Command("xfs_db", append(args, img)...).CombinedOutput()
	require.NoError(t, err, "xfs_db %v: %s", cmds, out)
	return string(out)
}

// dbField extracts "name = value" from xfs_db print output.
func dbField(t testing.TB, out, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` = (.*)$`)
	m := re.FindStringSubmatch(out)
	require.NotNil(t, m, "xfs_db output has no %s:\n%s", name, out)
	return m[1]
}

func dbUint(t testing.TB, out, name string) uint64 {
	t.Helper()
	v := strings.Fields(dbField(t, out, name))[0]
	n, err := strconv.ParseUint(v, 0, 64)
	require.NoError(t, err, "%s = %q", name, v)
	return n
}

// dbExtent is one line of xfs_db "bmap -d", with the physical start made
// linear from xfs_db's own agno/agbno split.
type dbExtent struct {
	Logical, Physical, Count uint64
	Unwritten                bool
}

var bmapLine = regexp.MustCompile(`^data offset (\d+) startblock (\d+) \((\d+)/(\d+)\) count (\d+) flag (\d)$`)

// dbInode is xfs_db's view of one inode.
type dbInode struct {
	Size     int64
	Format   uint64
	NExtents uint64
	Level    int // bmbt root level for BTREE inodes, else -1
	Extents  []dbExtent
}

func xfsDBInode(t testing.TB, img string, agblocks uint64, ino uint64) dbInode {
	t.Helper()
	out := xfsDB(t, img, fmt.Sprintf("inode %d", ino), "print core", "bmap -d")
	di := dbInode{
		Size:     int64(dbUint(t, out, "core.size")),
		Format:   dbUint(t, out, "core.format"),
		NExtents: dbUint(t, out, "core.nextents"),
		Level:    -1,
	}
	if di.Format == FmtBtree {
		lv := xfsDB(t, img, fmt.Sprintf("inode %d", ino), "print u3.bmbt.level")
		di.Level = int(dbUint(t, lv, "u3.bmbt.level"))
	}
	for _, line := range strings.Split(out, "\n") {
		m := bmapLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		u := func(i int) uint64 {
			n, err := strconv.ParseUint(m[i], 10, 64)
			require.NoError(t, err)
			return n
		}
		di.Extents = append(di.Extents, dbExtent{
			Logical: u(1), Physical: u(3)*agblocks + u(4), Count: u(5), Unwritten: m[6] == "1",
		})
	}
	return di
}

// xfsDBHex parses the hex dump xfs_db prints for a data block.
func xfsDBHex(t testing.TB, out string) []byte {
	t.Helper()
	var b []byte
	for _, line := range strings.Split(out, "\n") {
		i := strings.Index(line, ": ")
		if i < 0 {
			continue
		}
		raw, err := hex.DecodeString(strings.ReplaceAll(line[i+2:], " ", ""))
		require.NoError(t, err, "xfs_db hex line %q", line)
		b = append(b, raw...)
	}
	return b
}

// xfsDBFsblock returns fsblock fsb (agno << agblklog | agbno) as xfs_db reads it.
func xfsDBFsblock(t testing.TB, img string, fsb uint64) []byte {
	return xfsDBHex(t, xfsDB(t, img, fmt.Sprintf("fsblock %d", fsb), "type data", "print"))
}

// xfsDBDblock returns file block lblk of inode ino as xfs_db reads it.
func xfsDBDblock(t testing.TB, img string, ino, lblk uint64) []byte {
	return xfsDBHex(t, xfsDB(t, img, fmt.Sprintf("inode %d", ino), fmt.Sprintf("dblock %d", lblk), "type data", "print"))
}
