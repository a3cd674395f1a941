package ext

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iomapct/iomapct/ondisk"

	"github.com/stretchr/testify/require"
)

// TestKernelWrittenImage lets the host kernel write files through a loop
// mount (fallocate, punched holes, an htree directory, inline data, files
// extended past EOF), unmounts, and compares the reader with debugfs. The
// kernel's own allocator produces layouts mkfs -d never does.
func TestKernelWrittenImage(t *testing.T) {
	needsRoot(t)
	needTool(t, "mount", "mount")
	needTool(t, "fallocate", "util-linux")
	for _, c := range []mkfsConfig{
		{name: "kernel-ext4-1024", tool: "mkfs.ext4", blockSize: 1024, features: "^metadata_csum_seed,inline_data", sizeKiB: 16 * 1024},
		{name: "kernel-ext4-4096", tool: "mkfs.ext4", blockSize: 4096, features: "^metadata_csum_seed", sizeKiB: 16 * 1024},
		{name: "kernel-ext2-2048", tool: "mkfs.ext2", blockSize: 2048, sizeKiB: 16 * 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := makeImage(t, c, t.TempDir())
			mnt := t.TempDir()
			fstype := "ext4"
			if c.tool == "mkfs.ext2" {
				fstype = "ext2"
			}
			run(t, "mount", "-t", fstype, "-o", "loop", img, mnt)
			mounted := true
			defer func() {
				if mounted {
					_, _ = runStatus("umount", mnt)
				}
			}()
			paths := kernelWrites(t, mnt, c.blockSize, fstype == "ext4")
			run(t, "umount", mnt)
			mounted = false

			f, err := os.Open(img)
			require.NoError(t, err)
			defer f.Close()
			fs, err := Open(f)
			require.NoError(t, err)
			checkPaths(t, fs, img, paths)
			checkAllInodes(t, fs, img)
			if fstype == "ext4" {
				// The shapes this test exists for must really be there.
				dir := statPath(t, fs, "/dir")
				require.NotZero(t, dir.Flags&0x1000, "/dir should be an htree (EXT4_INDEX_FL)")
				falloc := statPath(t, fs, "/falloc")
				var kinds []ondisk.Kind
				for _, e := range falloc.Extents {
					kinds = append(kinds, e.Kind)
				}
				require.Contains(t, kinds, ondisk.Unwritten, "/falloc extents %+v", falloc.Extents)
				small := statPath(t, fs, "/small")
				require.Equal(t, c.features != "^metadata_csum_seed", small.Inline, "/small inline")
			}
		})
	}
}

// kernelWrites creates the files through the mount and returns their
// paths inside the image.
func kernelWrites(t *testing.T, mnt string, bs int, ext4 bool) []string {
	w := func(name string, data []byte, off int64) {
		f, err := os.OpenFile(filepath.Join(mnt, name), os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		_, err = f.WriteAt(data, off)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	b := int64(bs)
	w("small", []byte("tiny file written by the kernel"), 0)
	w("partial", bytes.Repeat([]byte("k"), 3*bs+77), 0)
	w("sparse", []byte("end"), 50*b+10)
	w("sparse", []byte("middle"), 20*b)
	w("extended", bytes.Repeat([]byte("e"), 100), 0)
	require.NoError(t, os.Truncate(filepath.Join(mnt, "extended"), 5*b+3))
	w("big", bytes.Repeat([]byte("0123456789abcdef"), 300*bs/16), 0)
	paths := []string{"/", "/small", "/partial", "/sparse", "/extended", "/big", "/dir"}
	if ext4 {
		w("falloc", bytes.Repeat([]byte("f"), 2*bs), 0)
		run(t, "fallocate", "-o", fmt.Sprint(4*b), "-l", fmt.Sprint(10*b), filepath.Join(mnt, "falloc"))
		run(t, "fallocate", "-n", "-o", fmt.Sprint(30*b), "-l", fmt.Sprint(5*b), filepath.Join(mnt, "falloc"))
		run(t, "fallocate", "-p", "-o", fmt.Sprint(50*b), "-l", fmt.Sprint(20*b), filepath.Join(mnt, "big"))
		paths = append(paths, "/falloc")
	}
	dir := filepath.Join(mnt, "dir")
	require.NoError(t, os.Mkdir(dir, 0o755))
	// Enough entries for the kernel to turn the directory into an htree.
	for i := range 300 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-number-%04d", i)), []byte{byte(i)}, 0o644))
	}
	paths = append(paths, "/dir/file-number-0000", "/dir/file-number-0299", "/dir/file-number-0150")
	return paths
}
