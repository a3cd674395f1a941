package gfs2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// poison fills the image before mkfs: every byte mkfs does not write keeps
// it, so a reader that returns stale space is caught.
var poison = []byte("POISON!\n")

// mkfsOpts describes one test image.
type mkfsOpts struct {
	bs        int
	sizeMiB   int
	journals  int
	journalMB int // -J, at least 8
	rgMB      int // -r, 0 for the default
}

// TestMain removes the directory of images shared between tests. It is
// made on first use only, so fuzz worker processes (which are killed, not
// ended) leave nothing behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

var (
	sharedDir    string
	sharedMu     sync.Mutex
	sharedImages = map[mkfsOpts]string{}
)

// freshImage returns a private, writable copy of a fresh image for o. The
// mkfs run behind it is shared by every test of the binary: the machine
// is slow and mkfs over a poisoned file is the expensive part.
func freshImage(t testing.TB, o mkfsOpts) string {
	t.Helper()
	sharedMu.Lock()
	if sharedDir == "" {
		dir, err := os.MkdirTemp("", "gfs2-images-")
		require.NoError(t, err)
		sharedDir = dir
	}
	src, ok := sharedImages[o]
	if !ok {
		src = filepath.Join(sharedDir, fmt.Sprintf("bs%d-%dM-j%d-J%d.img", o.bs, o.sizeMiB, o.journals, o.journalMB))
		makeImage(t, src, o)
		sharedImages[o] = src
	}
	sharedMu.Unlock()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	img := filepath.Join(t.TempDir(), "gfs2.img")
	require.NoError(t, os.WriteFile(img, b, 0o644))
	return img
}

// mkImage makes a gfs2 image with the real mkfs.gfs2 over a poisoned file,
// with -K so the poison stays in free space.
func mkImage(t testing.TB, o mkfsOpts) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "gfs2.img")
	makeImage(t, img, o)
	return img
}

func makeImage(t testing.TB, img string, o mkfsOpts) {
	t.Helper()
	requireTool(t, "mkfs.gfs2")
	fill := bytes.Repeat(poison, o.sizeMiB<<20/len(poison))
	require.NoError(t, os.WriteFile(img, fill, 0o644))
	args := []string{"-O", "-q", "-p", "lock_nolock", "-j", strconv.Itoa(o.journals),
		"-b", strconv.Itoa(o.bs), "-K", "-J", strconv.Itoa(o.journalMB)}
	if o.rgMB != 0 {
		args = append(args, "-r", strconv.Itoa(o.rgMB))
	}
	out, err := exec.Command("mkfs.gfs2", append(args, img)...).CombinedOutput()
	require.NoError(t, err, "mkfs.gfs2 %v: %s", args, out)
}

func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: apt-get install gfs2-utils", name)
	}
}

// gfs2Edit runs gfs2_edit -p ARGS IMAGE and returns its output. gfs2_edit
// needs the image path to contain a slash, which t.TempDir paths do.
func gfs2Edit(t testing.TB, img string, args ...string) string {
	t.Helper()
	requireTool(t, "gfs2_edit")
	out, err := exec.Command("gfs2_edit", append(append([]string{"-p"}, args...), img)...).CombinedOutput()
	require.NoError(t, err, "gfs2_edit -p %v: %s", args, out)
	return string(out)
}

// openImage opens img with our reader.
func openImage(t testing.TB, img string) *FS {
	t.Helper()
	fh, err := os.Open(img)
	require.NoError(t, err)
	t.Cleanup(func() { fh.Close() })
	fs, err := Open(fh)
	require.NoError(t, err)
	return fs
}

var blockHeadRE = regexp.MustCompile(`(?m)^Block #(\d+) `)

// gfs2EditBlocks dumps several blocks with one gfs2_edit run (each run
// costs seconds on a loaded machine) and splits the output per block.
func gfs2EditBlocks(t testing.TB, img string, blocks []uint64) map[uint64]string {
	t.Helper()
	args := make([]string, len(blocks))
	for i, b := range blocks {
		args[i] = strconv.FormatUint(b, 10)
	}
	out := gfs2Edit(t, img, args...)
	idx := blockHeadRE.FindAllStringSubmatchIndex(out, -1)
	m := map[uint64]string{}
	for i, x := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		n, err := strconv.ParseUint(out[x[2]:x[3]], 10, 64)
		require.NoError(t, err)
		m[n] = out[x[0]:end]
	}
	for _, b := range blocks {
		require.Contains(t, m, b, "gfs2_edit printed no block %d", b)
	}
	return m
}

var fieldRE = regexp.MustCompile(`^\s+(\w+)\s+(\S+)`)

// editFields parses "  name   value   0xhex" lines of a gfs2_edit structure
// dump; a repeated name keeps its first value.
func editFields(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if s := fieldRE.FindStringSubmatch(l); s != nil {
			if _, dup := m[s[1]]; !dup {
				m[s[1]] = s[2]
			}
		}
	}
	return m
}

func editUint(t testing.TB, m map[string]string, name string) uint64 {
	t.Helper()
	v, ok := m[name]
	require.True(t, ok, "gfs2_edit printed no %s", name)
	if strings.HasPrefix(v, "0x") {
		v = strings.TrimSuffix(v[2:], "(hex)")
		n, err := strconv.ParseUint(v, 16, 64)
		require.NoError(t, err)
		return n
	}
	v = strings.TrimSuffix(v, "(decimal)")
	base := 10
	if name == "di_mode" {
		base = 8 // printed in octal, labelled "decimal"
	}
	n, err := strconv.ParseUint(v, base, 64)
	require.NoError(t, err, "%s = %q", name, v)
	return n
}

// ptrRE matches one pointer line of gfs2_edit's tree dump:
// "   5: 0x8 => 0x91 / 145     (data offset ...". The hex number is the
// pointer's index in its block; the leading count and the "data offset"
// are gfs2_edit's running count of printed lines, which goes wrong after a
// hole, so the logical block is rebuilt from the indices along the path.
var ptrRE = regexp.MustCompile(`^( *)\d+: 0x([0-9a-f]+) => 0x([0-9a-f]+) / \d+\s+\(data offset`)

// editExtents turns gfs2_edit's pointer tree of a dinode of the given
// height into merged data extents: the leaves are the lines indented three
// spaces per level below the dinode. Every level below the dinode indexes
// in radix (bs-24)/8, the top included (find_metapath).
func editExtents(t testing.TB, out string, height int, bs uint64) (exts []ondisk.Extent, indirect int) {
	t.Helper()
	inptrs := (bs - 24) / 8
	path := make([]uint64, height)
	for _, l := range strings.Split(out, "\n") {
		s := ptrRE.FindStringSubmatch(l)
		if s == nil {
			continue
		}
		level := len(s[1]) / 3
		require.Less(t, level, height, "deeper than the tree: %q", l)
		idx, err := strconv.ParseUint(s[2], 16, 64)
		require.NoError(t, err)
		blk, err := strconv.ParseUint(s[3], 16, 64)
		require.NoError(t, err)
		path[level] = idx
		if level < height-1 {
			indirect++
			continue
		}
		lb := uint64(0)
		for _, i := range path {
			lb = lb*inptrs + i
		}
		if k := len(exts) - 1; k >= 0 && exts[k].Logical+exts[k].Count == lb && exts[k].Physical+exts[k].Count == blk {
			exts[k].Count++
			continue
		}
		exts = append(exts, ondisk.Extent{Logical: lb, Physical: blk, Count: 1, Kind: ondisk.Data})
	}
	return exts, indirect
}

// direntRE matches gfs2_edit's dirent lines:
// "   3/3 [FC7745EB] 1/18 (0x1/0x12) +0: File    journal0".
var direntRE = regexp.MustCompile(`^\s+\d+/\d+ \[([0-9A-F]{8})\] (\d+)/(\d+) \(0x[0-9a-f]+/0x[0-9a-f]+\) \+\d+: \S+\s+(\S+)\s*$`)

// editDirents lists the dirents gfs2_edit prints for a directory dinode.
func editDirents(t testing.TB, out string) []DirEntry {
	t.Helper()
	var ents []DirEntry
	for _, l := range strings.Split(out, "\n") {
		s := direntRE.FindStringSubmatch(l)
		if s == nil {
			continue
		}
		h, _ := strconv.ParseUint(s[1], 16, 32)
		formal, _ := strconv.ParseUint(s[2], 10, 64)
		addr, _ := strconv.ParseUint(s[3], 10, 64)
		ents = append(ents, DirEntry{Name: s[4], Inum: Inum{FormalIno: formal, Addr: addr}, Hash: uint32(h)})
	}
	return ents
}

var hexRE = regexp.MustCompile(`^([0-9a-f]{8}) ((?:[0-9a-f]{8} ){1,4})`)

// editHexBlock rebuilds block blk from `gfs2_edit -x -p blk` output, the
// tool's own hex dump (which prints the image offset of each 16 bytes). The
// dump of a dinode stops early on small blocks, so it also returns how
// many leading bytes it covered.
func editHexBlock(t testing.TB, img string, blk, bs uint64) ([]byte, int) {
	t.Helper()
	requireTool(t, "gfs2_edit")
	raw, err := exec.Command("gfs2_edit", "-x", "-p", strconv.FormatUint(blk, 10), img).CombinedOutput()
	require.NoError(t, err, "gfs2_edit -x -p %d: %s", blk, raw)
	out := string(raw)
	b := make([]byte, bs)
	seen := 0
	for _, l := range strings.Split(out, "\n") {
		s := hexRE.FindStringSubmatch(l)
		if s == nil {
			continue
		}
		off, err := strconv.ParseUint(s[1], 16, 64)
		require.NoError(t, err)
		if off < blk*bs || off >= (blk+1)*bs {
			continue
		}
		for i, w := range strings.Fields(s[2]) {
			v, err := strconv.ParseUint(w, 16, 32)
			require.NoError(t, err)
			binary.BigEndian.PutUint32(b[off-blk*bs+uint64(i)*4:], uint32(v))
		}
		require.Equal(t, uint64(seen*16), off-blk*bs, "gfs2_edit -x skipped bytes of block %d", blk)
		seen++
	}
	require.Positive(t, seen, "gfs2_edit -x printed nothing of block %d", blk)
	return b, seen * 16
}
