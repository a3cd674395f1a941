//go:build linux

package execute

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
)

// A sync write (pwrite sync=, pwritev2 rwf=dsync or sync) must have put its
// bytes on disk when it returns (generic_write_sync). Nothing else in a
// sequence can see that — every later read goes through the page cache and
// the host judges the image only after the unmount wrote everything — so
// right after the write the guest reads the written range from the disk
// itself: FS_IOC_FIEMAP (without FIEMAP_FLAG_SYNC, so it flushes nothing)
// says where each byte lives, and an O_DIRECT read of the block device at
// that place (bypassing the file's page cache) returns what is there.
// Bytes in holes and in delalloc or unwritten extents are reported as
// zero: they are not on disk.

const (
	fsIocFiemap      = 0xC020660B // _IOWR('f', 11, struct fiemap)
	fiemapExtentSize = 56         // struct fiemap_extent
	fiemapHeaderSize = 32         // struct fiemap
	fiemapMaxExtents = 64
	fiemapDelalloc   = 0x4
	fiemapUnwritten  = 0x800
	fiemapUnknown    = 0x2
)

type extent struct {
	logical, physical, length uint64
	flags                     uint32
}

// fiemap returns the extents overlapping [off, off+n).
func fiemap(fd int, off, n int64) ([]extent, error) {
	buf := make([]byte, fiemapHeaderSize+fiemapMaxExtents*fiemapExtentSize)
	le := binary.LittleEndian
	le.PutUint64(buf[0:], uint64(off))
	le.PutUint64(buf[8:], uint64(n))
	le.PutUint32(buf[16:], 0) // fm_flags: no FIEMAP_FLAG_SYNC
	le.PutUint32(buf[24:], fiemapMaxExtents)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFiemap, uintptr(unsafe.Pointer(&buf[0]))); e != 0 {
		return nil, fmt.Errorf("FS_IOC_FIEMAP: %w", e)
	}
	count := le.Uint32(buf[20:])
	out := make([]extent, 0, count)
	for i := uint32(0); i < count; i++ {
		e := buf[fiemapHeaderSize+i*fiemapExtentSize:]
		out = append(out, extent{logical: le.Uint64(e[0:]), physical: le.Uint64(e[8:]), length: le.Uint64(e[16:]), flags: le.Uint32(e[40:])})
	}
	return out, nil
}

// blockDevice finds the /dev node of the filesystem holding fd.
func blockDevice(fd int) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	names, _ := filepath.Glob("/dev/vd*")
	for _, name := range names {
		var ds unix.Stat_t
		if unix.Stat(name, &ds) == nil && ds.Mode&unix.S_IFMT == unix.S_IFBLK && ds.Rdev == st.Dev {
			return name, nil
		}
	}
	return "", fmt.Errorf("no /dev/vd* node for device %d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
}

// onDisk returns the bytes [off, off+n) of the file as the disk holds them
// now.
func onDisk(fd int, off, n int64) ([]byte, error) {
	exts, err := fiemap(fd, off, n)
	if err != nil {
		return nil, err
	}
	dev, err := blockDevice(fd)
	if err != nil {
		return nil, err
	}
	dfd, err := unix.Open(dev, unix.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s O_DIRECT: %w", dev, err)
	}
	defer unix.Close(dfd)
	out := make([]byte, n)
	page := int64(os.Getpagesize())
	for _, e := range exts {
		if e.flags&(fiemapDelalloc|fiemapUnwritten|fiemapUnknown) != 0 {
			continue
		}
		a := max(off, int64(e.logical))
		b := min(off+n, int64(e.logical+e.length))
		if a >= b {
			continue
		}
		phys := int64(e.physical) + a - int64(e.logical)
		start := phys / 512 * 512
		end := (phys + b - a + 511) / 512 * 512
		buf, err := unix.Mmap(-1, 0, int((end-start+page-1)/page*page), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return nil, err
		}
		got, err := unix.Pread(dfd, buf[:end-start], start)
		if err == nil && int64(got) != end-start {
			err = fmt.Errorf("short read %d of %d bytes", got, end-start)
		}
		if err != nil {
			unix.Munmap(buf)
			return nil, fmt.Errorf("O_DIRECT read of %s at %d: %w", dev, start, err)
		}
		copy(out[a-off:b-off], buf[phys-start:])
		unix.Munmap(buf)
	}
	return out, nil
}

// isSyncWrite reports the ops that end in generic_write_sync.
func isSyncWrite(op cases.Op) bool {
	return op.Kind == cases.PWrite && op.Sync != "" ||
		op.Kind == cases.PWritev2 && (op.HasRWF("dsync") || op.HasRWF("sync"))
}

// syncWriteProbe runs a sync write and reads back from the disk what it
// wrote.
func syncWriteProbe(env Env, fs *files, path string, fd *int, index int, op cases.Op) (int64, []byte, error) {
	at := op.Off
	if op.HasRWF("append") {
		var st unix.Stat_t
		if err := unix.Fstat(*fd, &st); err != nil {
			return 0, nil, err
		}
		at = st.Size
	}
	n, err := one(env, fs, path, fd, index, op)
	if err != nil || n <= 0 {
		return n, nil, err
	}
	data, err := onDisk(*fd, at, n)
	if err != nil {
		return n, nil, fmt.Errorf("reading back the synced range from the disk: %w", err)
	}
	return n, data, nil
}
