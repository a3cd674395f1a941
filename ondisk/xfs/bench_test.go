package xfs

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// readAll walks the tree from the root and reads every regular file into
// *buf (reused, as a caller checking file after file would), returning
// the number of files and bytes read.
func readAll(fs *FS, buf *[]byte) (files int, bytes int64, err error) {
	var walk func(dir uint64) error
	walk = func(dir uint64) error {
		ents, err := fs.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			switch e.FType {
			case 2: // XFS_DIR3_FT_DIR
				if err := walk(e.Ino); err != nil {
					return err
				}
			case 1: // XFS_DIR3_FT_REG_FILE
				*buf, err = fs.AppendFile((*buf)[:0], e.Ino)
				if err != nil {
					return err
				}
				files++
				bytes += int64(len(*buf))
			}
		}
		return nil
	}
	err = walk(fs.Superblock().RootIno)
	return files, bytes, err
}

// BenchmarkReadAllFiles reads every file of a 128 MiB, 4 KiB-block image
// populated by mkfs.xfs -p with ~1700 files of mixed sizes (~90 MiB).
func BenchmarkReadAllFiles(b *testing.B) {
	src := b.TempDir()
	rng := rand.New(rand.NewSource(1))
	var total int64
	nfiles := 0
	add := func(name string, n int) {
		data := make([]byte, n)
		rng.Read(data)
		p := filepath.Join(src, name)
		require.NoError(b, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(b, os.WriteFile(p, data, 0o644))
		total += int64(n)
		nfiles++
	}
	for d := 0; d < 16; d++ {
		for i := 0; i < 100; i++ {
			add(fmt.Sprintf("d%02d/small-%03d", d, i), rng.Intn(16<<10))
		}
		for i := 0; i < 6; i++ {
			add(fmt.Sprintf("d%02d/medium-%d", d, i), 64<<10+rng.Intn(512<<10))
		}
	}
	for i := 0; i < 12; i++ {
		add(fmt.Sprintf("large-%d", i), 4<<20+rng.Intn(1<<20))
	}
	img := makeProtoImage(b, mkfsConfig{BlockSize: 4096, Nrext64: true, SizeMiB: 128}, src)
	fs, err := OpenImage(img)
	require.NoError(b, err)
	b.Cleanup(func() { fs.Close() })

	var buf []byte
	files, n, err := readAll(fs, &buf) // also warms the page cache
	require.NoError(b, err)
	require.Equal(b, nfiles, files)
	require.Equal(b, total, n)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	// The machine is shared: CPU time per op (user+sys of this process)
	// shows the reader's own cost apart from waiting for a core.
	cpu0 := cpuTime(b)
	for b.Loop() {
		if _, _, err := readAll(fs, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return ru.Utime.Nano() + ru.Stime.Nano()
}
