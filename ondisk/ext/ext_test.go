package ext

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/iomapct/iomapct/ondisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageCase is one pinned mkfs configuration plus the debugfs edits that
// add the special kinds mkfs -d cannot make.
type imageCase struct {
	cfg    mkfsConfig
	ext4   bool
	inline bool
}

func imageCases() []imageCase {
	var cases []imageCase
	for _, bs := range []int{1024, 2048, 4096} {
		size := int64(16 * 1024)
		cases = append(cases,
			imageCase{cfg: mkfsConfig{name: fmt.Sprintf("ext4-%d", bs), tool: "mkfs.ext4", blockSize: bs, features: "^metadata_csum_seed", sizeKiB: size}, ext4: true},
			imageCase{cfg: mkfsConfig{name: fmt.Sprintf("ext2-%d", bs), tool: "mkfs.ext2", blockSize: bs, sizeKiB: size}},
		)
	}
	cases = append(cases,
		imageCase{cfg: mkfsConfig{name: "ext4-inline-1024", tool: "mkfs.ext4", blockSize: 1024, features: "^metadata_csum_seed,inline_data", sizeKiB: 16 * 1024}, ext4: true, inline: true},
		imageCase{cfg: mkfsConfig{name: "ext4-inline-4096", tool: "mkfs.ext4", blockSize: 4096, features: "^metadata_csum_seed,inline_data", sizeKiB: 16 * 1024, extra: []string{"-I", "512"}}, ext4: true, inline: true},
		// 64bit descriptors, meta_bg placement and the old crc16 group
		// checksums, and the csum_seed superblock field.
		imageCase{cfg: mkfsConfig{name: "ext4-metabg-gdtcsum", tool: "mkfs.ext4", blockSize: 1024, features: "64bit,meta_bg,^resize_inode,^metadata_csum,uninit_bg", sizeKiB: 16 * 1024}, ext4: true},
		imageCase{cfg: mkfsConfig{name: "ext4-csumseed", tool: "mkfs.ext4", blockSize: 2048, features: "metadata_csum_seed", sizeKiB: 16 * 1024}, ext4: true},
	)
	return cases
}

// extraPaths are the files added by debugfs after mkfs.
const (
	unwrittenPath = "/unw"   // fallocate inside and past EOF, then punch
	jdataPath     = "/jdata" // EXT4_JOURNAL_DATA_FL set
	punchedPath   = "/big"   // holes punched into an existing map
)

// editImage applies the debugfs edits: unwritten extents (ext4), a hole
// punched into the indirect or extent map, and the journal-data flag.
func editImage(t *testing.T, img string, c imageCase, scratch string) {
	bs := c.cfg.blockSize
	host := filepath.Join(scratch, "unw.src")
	data := bytes.Repeat([]byte("written!"), 20*bs/8)
	require.NoError(t, os.WriteFile(host, data, 0o644))
	cmds := []string{
		"write " + host + " unw",
		"write " + host + " jdata",
		"punch " + punchedPath + " 20 25",
		"punch /unw 2 3",
		"sif /jdata flags 0x84000",
	}
	if !c.ext4 {
		cmds[4] = "sif /jdata flags 0x4000"
	}
	if c.ext4 {
		// Blocks 24..29 become unwritten inside i_size (set to 28 blocks
		// + 5 bytes), 30..40 unwritten past EOF. Their physical blocks
		// still hold poison, which the reader must not return.
		cmds = append(cmds,
			"fallocate /unw 24 40",
			fmt.Sprintf("sif /unw size %d", 28*bs+5),
		)
	}
	debugfsCmds(t, img, true, cmds...)
}

func TestImagesAgainstDebugfs(t *testing.T) {
	for _, c := range imageCases() {
		t.Run(c.cfg.name, func(t *testing.T) {
			src := t.TempDir()
			specs := treeFor(c.cfg.blockSize, !c.ext4 && c.cfg.blockSize == 1024)
			writeTree(t, src, specs)
			img := makeImage(t, c.cfg, src)
			editImage(t, img, c, t.TempDir())
			if c.cfg.name == "ext4-1024" {
				// Rebuild directories as htrees: Lookup must still find
				// every name by reading the leaves linearly.
				needTool(t, "e2fsck", "e2fsprogs")
				e2fsckD(t, img)
			}

			f, err := os.Open(img)
			require.NoError(t, err)
			defer f.Close()
			fs, err := Open(f)
			require.NoError(t, err)
			wantType := "ext2"
			if c.ext4 {
				wantType = "ext4"
			}
			assert.Equal(t, wantType, fs.FSType())
			assert.Equal(t, c.cfg.blockSize, fs.BlockSize())

			paths := []string{"/", "/dir", "/dir/sub", "/many", "/fastlink", "/slowlink", unwrittenPath, jdataPath, "/many/entry-with-a-longish-name-xxxxxxxxx-149"}
			for _, s := range specs {
				paths = append(paths, "/"+s.path)
			}
			checkPaths(t, fs, img, paths)
			checkAllInodes(t, fs, img)
			checkSpecialKinds(t, fs, img, c)
		})
	}
}

// e2fsckD runs e2fsck -fyD, which indexes (htree) large directories. Its
// exit status 1 means "errors corrected" (the re-indexing itself).
func e2fsckD(t *testing.T, img string) {
	out, err := runStatus("e2fsck", "-fyD", img)
	require.True(t, err == nil || exitCode(err) == 1, "e2fsck -fyD: %v\n%s", err, out)
	st := debugfsCmds(t, img, false, "stat /many")[0]
	require.Contains(t, st, "Flags: 0x81000", "e2fsck -D did not index /many:\n%s", st)
}

// checkPaths compares Lookup, the inode, its block map, its bytes and its
// EOF tail with debugfs for every path.
func checkPaths(t *testing.T, fs *FS, img string, paths []string) {
	dumpDir := t.TempDir()
	var cmds []string
	for i, p := range paths {
		cmds = append(cmds, "stat "+p, fmt.Sprintf("dump %s %s/%d", p, dumpDir, i))
	}
	outs := debugfsCmds(t, img, false, cmds...)
	for i, p := range paths {
		o := parseStat(t, outs[2*i])
		ino, err := fs.Lookup(p)
		if !assert.NoError(t, err, "Lookup %s", p) {
			continue
		}
		assert.Equal(t, o.Ino, ino, "Lookup %s", p)
		info, err := fs.Stat(ino)
		if !assert.NoError(t, err, "Stat %s", p) {
			continue
		}
		compareInode(t, fs, img, p, info, o)
		if info.Mode&modeTypeMask == modeReg {
			want, err := os.ReadFile(fmt.Sprintf("%s/%d", dumpDir, i))
			require.NoError(t, err)
			if info.Inline {
				// debugfs dumps an inline file's whole inline area, not
				// just Size bytes: the rest is exactly the EOF tail.
				tail, err := fs.EOFTail(ino)
				require.NoError(t, err)
				require.GreaterOrEqual(t, len(want), int(info.Size), "debugfs dump of inline %s", p)
				assert.Equal(t, want[info.Size:], tail, "EOFTail of inline %s", p)
				want = want[:info.Size]
			}
			got, err := fs.ReadFile(ino)
			if assert.NoError(t, err, "ReadFile %s", p) {
				assert.True(t, bytes.Equal(want, got), "ReadFile %s: %d bytes differ from debugfs dump (%d bytes)", p, len(got), len(want))
			}
		}
	}
}

// compareInode checks one inode against debugfs stat output.
func compareInode(t *testing.T, fs *FS, img, what string, info *InodeInfo, o oracleInode) {
	assert.Equal(t, o.Size, info.Size, "%s size", what)
	assert.Equal(t, o.Mode, info.Mode, "%s mode", what)
	assert.Equal(t, o.Flags, info.Flags, "%s flags", what)
	assert.Equal(t, o.Flags&flagJournal != 0, info.JournalData, "%s journal data", what)
	if o.InlineSize > 0 || (o.FastLink && o.Flags&flagInlineData == 0) || (o.Flags&flagInlineData != 0) {
		assert.True(t, info.Inline, "%s should be inline", what)
		want := []ondisk.Extent{{Count: 1, Kind: ondisk.Inline, InlineOffset: info.Offset + inBlock}}
		if o.Size == 0 && o.Flags&flagInlineData == 0 {
			want = nil
		}
		assert.Empty(t, cmp.Diff(want, info.Extents), "%s inline extents", what)
		if o.InlineSize > 0 {
			assert.Equal(t, o.InlineSize, info.InlineCapacity, "%s inline capacity", what)
		}
		return
	}
	assert.False(t, info.Inline, "%s should not be inline", what)
	assert.Empty(t, cmp.Diff(o.Extents, mergeExtents(info.Extents)), "%s block map (-debugfs +reader)", what)
	assert.Empty(t, cmp.Diff(sortedCopy(o.Meta), sortedCopy(info.MetaBlocks)), "%s mapping metadata blocks (-debugfs +reader)", what)
	checkEOFTail(t, fs, img, what, info, o)
}

// checkEOFTail compares EOFTail with the image bytes of the EOF block as
// debugfs maps it.
func checkEOFTail(t *testing.T, fs *FS, img, what string, info *InodeInfo, o oracleInode) {
	got, err := fs.EOFTail(info.Ino)
	if !assert.NoError(t, err, "EOFTail %s", what) {
		return
	}
	bs := int64(fs.BlockSize())
	var want []byte
	if info.Size%bs != 0 {
		lblk := uint64(info.Size / bs)
		for _, e := range o.Extents {
			if lblk >= e.Logical && lblk < e.Logical+e.Count && e.Kind == ondisk.Data {
				raw := readImage(t, img, int64(e.Physical+lblk-e.Logical)*bs, int(bs))
				want = raw[info.Size%bs:]
			}
		}
	}
	assert.Equal(t, len(want), len(got), "EOFTail %s length", what)
	assert.True(t, bytes.Equal(want, got), "EOFTail %s bytes differ from the image", what)
}

func readImage(t *testing.T, img string, off int64, n int) []byte {
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, n)
	_, err = f.ReadAt(buf, off)
	require.NoError(t, err)
	return buf
}

// checkAllInodes compares every allocated inode (reserved ones such as the
// journal and resize inodes included) with debugfs, and reads each.
func checkAllInodes(t *testing.T, fs *FS, img string) {
	var inos []uint64
	var cmds []string
	for ino := uint64(1); ino <= fs.InodesCount(); ino++ {
		ok, err := fs.InodeAllocated(ino)
		require.NoError(t, err)
		if ok {
			inos = append(inos, ino)
			cmds = append(cmds, fmt.Sprintf("stat <%d>", ino))
		}
	}
	require.Greater(t, len(inos), 20, "too few allocated inodes found")
	outs := debugfsCmds(t, img, false, cmds...)
	for i, ino := range inos {
		o := parseStat(t, outs[i])
		info, err := fs.Stat(ino)
		if !assert.NoError(t, err, "inode %d", ino) {
			continue
		}
		compareInode(t, fs, img, fmt.Sprintf("inode %d", ino), info, o)
		// Reserved inodes are metadata (the resize inode claims a size of
		// gigabytes); their maps were compared above.
		if ino >= uint64(fs.sb.firstIno) && (info.Mode&modeTypeMask == modeReg || info.Mode&modeTypeMask == modeLnk) {
			data, err := fs.ReadFile(ino)
			if assert.NoError(t, err, "ReadFile inode %d", ino) {
				assert.Len(t, data, int(info.Size))
			}
		}
	}
}

// checkSpecialKinds asserts what the generic comparison cannot: unwritten
// blocks read as zero although the image holds poison there, and inline
// data matches the raw inode bytes.
func checkSpecialKinds(t *testing.T, fs *FS, img string, c imageCase) {
	bs := int64(c.cfg.blockSize)
	ino, err := fs.Lookup(unwrittenPath)
	require.NoError(t, err)
	info, err := fs.Stat(ino)
	require.NoError(t, err)
	data, err := fs.ReadFile(ino)
	require.NoError(t, err)
	if c.ext4 {
		var unw *ondisk.Extent
		for i := range info.Extents {
			if info.Extents[i].Kind == ondisk.Unwritten && info.Extents[i].Logical == 24 {
				unw = &info.Extents[i]
			}
		}
		require.NotNil(t, unw, "no unwritten extent at block 24: %+v", info.Extents)
		raw := readImage(t, img, int64(unw.Physical)*bs, int(bs))
		require.True(t, bytes.HasPrefix(raw, poison), "unwritten block %d should still hold poison; the test proves nothing otherwise", unw.Physical)
		require.Equal(t, 28*bs+5, int64(len(data)))
		assert.Equal(t, make([]byte, 4*bs+5), data[24*bs:], "unwritten blocks must read as zero")
		tail, err := fs.EOFTail(ino)
		require.NoError(t, err)
		assert.Empty(t, tail, "EOF block is unwritten")
	}
	assert.Equal(t, make([]byte, 2*bs), data[2*bs:4*bs], "punched blocks must read as zero")
	assert.Equal(t, []byte("written!"), data[:8])

	if !c.ext4 && bs == 1024 {
		// DIND + IND for the double-indirect chunk, TIND + DIND + IND for the
		// triple-indirect one.
		deep := statPath(t, fs, "/deep")
		assert.GreaterOrEqual(t, len(deep.MetaBlocks), 5, "/deep should reach the triple indirect block")
	}

	jino, err := fs.Lookup(jdataPath)
	require.NoError(t, err)
	jinfo, err := fs.Inode(jino)
	require.NoError(t, err)
	assert.True(t, jinfo.JournalData)

	if c.inline {
		for _, p := range []string{"/tiny", "/small", "/dir/sub"} {
			ino, err := fs.Lookup(p)
			require.NoError(t, err)
			info, err := fs.Stat(ino)
			require.NoError(t, err)
			require.True(t, info.Inline, "%s should be inline", p)
			raw := readImage(t, img, info.Offset+inBlock, inBlockLen)
			if info.Mode&modeTypeMask == modeReg {
				data, err := fs.ReadFile(ino)
				require.NoError(t, err)
				n := min(len(data), inBlockLen)
				assert.Equal(t, raw[:n], data[:n], "%s: first bytes must come from i_block", p)
				tail, err := fs.EOFTail(ino)
				require.NoError(t, err)
				assert.Len(t, tail, info.InlineCapacity-int(info.Size))
			}
		}
		entries, err := fs.ReadDir(mustLookup(t, fs, "/dir/sub"))
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
		}
		assert.ElementsMatch(t, []string{".", "..", "nested", "other"}, names)
	}
}

func mustLookup(t *testing.T, fs *FS, p string) uint64 {
	ino, err := fs.Lookup(p)
	require.NoError(t, err, "Lookup %s", p)
	return ino
}

// sanity: the tree builder's names stay unique.
func TestTreeNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range treeFor(1024, true) {
		require.False(t, seen[s.path], s.path)
		require.False(t, strings.HasPrefix(s.path, "/"))
		seen[s.path] = true
	}
}
