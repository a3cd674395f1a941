package ext

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchTree writes many files of mixed sizes (about 90 MiB in all, what fits beside the 16 MiB journal) and
// returns their total size.
func benchTree(b *testing.B, root string) int64 {
	rng := rand.New(rand.NewPCG(7, 8))
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	var total int64
	write := func(name string, size int) {
		p := filepath.Join(root, name)
		require.NoError(b, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		require.NoError(b, err)
		for left := size; left > 0; {
			n := min(left, len(block))
			off := rng.IntN(len(block) - n + 1)
			_, err := f.Write(block[off : off+n])
			require.NoError(b, err)
			left -= n
		}
		require.NoError(b, f.Close())
		total += int64(size)
	}
	for i := range 1000 {
		write(fmt.Sprintf("small/%02d/f%d", i%20, i), 1+rng.IntN(8192))
	}
	for i := range 800 {
		write(fmt.Sprintf("medium/%02d/f%d", i%20, i), 16384+rng.IntN(114688))
	}
	for i := range 24 {
		write(fmt.Sprintf("large/f%d", i), 1<<20+rng.IntN(1<<19))
	}
	return total
}

// readTree reads every regular file below directory ino and returns the
// number of bytes read.
func readTree(fs *FS, ino uint64) (int64, error) {
	entries, err := fs.ReadDir(ino)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range entries {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		switch e.Type {
		case 1: // regular file
			data, err := fs.ReadFile(e.Ino)
			if err != nil {
				return 0, err
			}
			n += int64(len(data))
		case 2: // directory
			sub, err := readTree(fs, e.Ino)
			if err != nil {
				return 0, err
			}
			n += sub
		}
	}
	return n, nil
}

// BenchmarkReadAllFiles opens a 128 MiB ext4 image and reads every file
// in it (directory walk included) per iteration.
func BenchmarkReadAllFiles(b *testing.B) {
	src := b.TempDir()
	total := benchTree(b, src)
	img := makeImage(b, mkfsConfig{name: "bench", tool: "mkfs.ext4", blockSize: 4096, features: "^metadata_csum_seed", sizeKiB: 128 * 1024}, src)
	f, err := os.Open(img)
	require.NoError(b, err)
	defer f.Close()
	whole, err := os.ReadFile(img)
	require.NoError(b, err)
	// "file" reads through the page cache with pread; "memory" reads an
	// image already loaded into memory, as a checker holding it would.
	for _, src := range []struct {
		name string
		r    io.ReaderAt
	}{{"file", f}, {"memory", bytes.NewReader(whole)}} {
		b.Run(src.name, func(b *testing.B) {
			b.SetBytes(total)
			// The machine is shared: CPU time per op (all threads, GC
			// included) shows the reader's own cost next to wall time.
			cpu0 := cpuTime(b)
			for b.Loop() {
				fs, err := Open(src.r)
				if err != nil {
					b.Fatal(err)
				}
				n, err := readTree(fs, RootIno)
				if err != nil {
					b.Fatal(err)
				}
				if n != total {
					b.Fatalf("read %d bytes, the tree holds %d", n, total)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
