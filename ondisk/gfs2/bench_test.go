package gfs2

import (
	"fmt"
	"math/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchImage is a 128 MiB, 4k-block image: mkfs.gfs2's system files with
// eight 8 MiB journals, plus 600 injected files of mixed sizes (60%
// stuffed, 37% up to 132 KiB, 3% of 1-2 MiB with holes) in nested
// directories.
func benchImage(b *testing.B) string {
	o := mkfsOpts{bs: 4096, sizeMiB: 128, journals: 8, journalMB: 8}
	img := mkImage(b, o)
	image, err := os.ReadFile(img)
	require.NoError(b, err)
	j := newInjector(b, image)
	rng := rand.New(rand.NewSource(1))
	pl := &placer{j: j, dir: j.fs.Superblock().RootDir.Addr}
	for i := range 600 {
		var s fileSpec
		switch r := rng.Intn(100); {
		case r < 60:
			s.size = uint64(rng.Intn(3865))
		case r < 97:
			s.size = 4096 + uint64(rng.Intn(128<<10))
		default:
			s.size = 1<<20 + uint64(rng.Intn(1<<20))
			s.hole = func(lb uint64) bool { return lb%97 < 5 }
		}
		s.name = fmt.Sprintf("f%d", i)
		pl.place(s.name, j.file(s))
	}
	require.NoError(b, os.WriteFile(img, image, 0o644))
	return img
}

// readEverything opens the image and reads every file reachable from the
// root and master directories, with ReadFileInto and one reused buffer
// when reuse is set, else with ReadFile.
func readEverything(img string, reuse bool) (files int, total int64, err error) {
	var buf []byte
	fh, err := os.Open(img)
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	fs, err := Open(fh)
	if err != nil {
		return 0, 0, err
	}
	var walk func(dir uint64) error
	walk = func(dir uint64) error {
		ents, err := fs.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			if e.Type == 4 { // DT_DIR
				if err := walk(e.Inum.Addr); err != nil {
					return err
				}
				continue
			}
			data, err := fs.ReadFileInto(e.Inum.Addr, buf)
			if err != nil {
				return err
			}
			if reuse {
				buf = data
			}
			files++
			total += int64(len(data))
		}
		return nil
	}
	if err := walk(fs.Superblock().RootDir.Addr); err != nil {
		return 0, 0, err
	}
	err = walk(fs.Superblock().MasterDir.Addr)
	return files, total, err
}

// BenchmarkReadAllFiles reads every file of a 128 MiB image; the goal is
// at most 100 ms an operation.
func BenchmarkReadAllFiles(b *testing.B) {
	img := benchImage(b)
	for _, reuse := range []bool{true, false} {
		name := "ReadFileInto"
		if !reuse {
			name = "ReadFile"
		}
		b.Run(name, func(b *testing.B) {
			files, total, err := readEverything(img, reuse)
			require.NoError(b, err)
			b.Logf("%d files, %d bytes", files, total)
			b.SetBytes(total)
			for b.Loop() {
				if _, _, err := readEverything(img, reuse); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
