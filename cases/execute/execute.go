//go:build linux

// Package execute performs case ops with real syscalls inside the guest.
// It is the guest half of the vocabulary in package cases; the reference
// model is the other half.
package execute

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
)

// Env is what ops that reach beyond the file need.
type Env struct {
	// Remount unmounts and mounts the filesystem again.
	Remount func() error
	// AfterOp, if set, runs after each op that succeeded (a crash run
	// writes its marker there); its error stops the sequence like the op's.
	AfterOp func(index int) error
}

// fsJournalDataFl is FS_JOURNAL_DATA_FL from include/uapi/linux/fs.h.
const fsJournalDataFl = 0x00004000

// File runs ops on path (file 0) and the case's other files
// (cases.FileName(path, i)) and reports the outcome; it stops at the first
// failing op, whose index is OpsDone. Every file the ops name is created
// before the first op.
func File(env Env, path string, ops []cases.Op) cases.Result {
	res := cases.Result{}
	fs := &files{paths: map[int]string{}, fds: map[int]int{}}
	defer fs.close()
	for _, i := range cases.FilesOf(ops) {
		p := cases.FileName(path, i)
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o644)
		if err != nil {
			res.Err = fmt.Sprintf("open %s: %v", p, err)
			return res
		}
		fs.order = append(fs.order, i)
		fs.paths[i], fs.fds[i] = p, fd
	}
	for i, op := range ops {
		fd := fs.fds[op.File]
		path := fs.paths[op.File]
		var n int64
		var err error
		switch {
		case op.Kind == cases.Read || op.Kind == cases.MapRead:
			var data []byte
			data, err = readOp(fd, op)
			n = int64(len(data))
			res.ReadData = keepReadData(res.ReadData, i, data)
		case isSyncWrite(op):
			var data []byte
			n, data, err = syncWriteProbe(env, fs, path, &fd, i, op)
			if data != nil {
				res.ReadData = keepReadData(res.ReadData, i, data)
			}
		default:
			n, err = one(env, fs, path, &fd, i, op)
		}
		if op.Kind != cases.Remount {
			fs.fds[op.File] = fd
		}
		if err != nil {
			res.Err = fmt.Sprintf("op %d (%s): %v", i, op, err)
			break
		}
		res.Returned = append(res.Returned, n)
		res.OpsDone = i + 1
		if env.AfterOp != nil {
			if err := env.AfterOp(i); err != nil {
				res.Err = fmt.Sprintf("after op %d (%s): %v", i, op, err)
				break
			}
		}
	}
	for _, i := range fs.order {
		var st unix.Stat_t
		if err := unix.Fstat(fs.fds[i], &st); err != nil {
			continue
		}
		if i == 0 {
			res.Ino, res.Size = st.Ino, st.Size
		} else {
			res.Files = append(res.Files, cases.FileResult{Index: i, Ino: st.Ino, Size: st.Size})
		}
	}
	return res
}

// files are the open descriptors of a case's files.
type files struct {
	order []int
	paths map[int]string
	fds   map[int]int
}

func (f *files) close() {
	for _, fd := range f.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// remount closes every file, remounts, and opens them again.
func (f *files) remount(env Env) error {
	if env.Remount == nil {
		return fmt.Errorf("remount not available here")
	}
	f.close()
	for i := range f.fds {
		f.fds[i] = -1
	}
	if err := env.Remount(); err != nil {
		return err
	}
	for _, i := range f.order {
		fd, err := unix.Open(f.paths[i], unix.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("reopen %s after remount: %w", f.paths[i], err)
		}
		f.fds[i] = fd
	}
	return nil
}

func one(env Env, fs *files, path string, fd *int, index int, op cases.Op) (int64, error) {
	switch op.Kind {
	case cases.Clone, cases.Dedupe, cases.CopyRange, cases.Unshare:
		return shared(fs, *fd, op)
	case cases.PWrite:
		if op.Sync != "" {
			return syncWrite(path, index, op)
		}
		n, err := unix.Pwrite(*fd, cases.Data(index, op.Off, int(op.Len)), op.Off)
		return int64(n), short(n, op.Len, err)
	case cases.Writev:
		var iovs [][]byte
		off := op.Off
		for _, s := range op.Segs {
			iovs = append(iovs, cases.Data(index, off, int(s)))
			off += s
		}
		n, err := unix.Pwritev(*fd, iovs, op.Off)
		return int64(n), short(n, op.Len, err)
	case cases.Append:
		afd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND, 0)
		if err != nil {
			return 0, err
		}
		defer unix.Close(afd)
		var st unix.Stat_t
		if err := unix.Fstat(afd, &st); err != nil {
			return 0, err
		}
		n, err := unix.Write(afd, cases.Data(index, st.Size, int(op.Len)))
		return int64(n), short(n, op.Len, err)
	case cases.DirectWrite:
		return direct(path, index, op)
	case cases.ShortCopy:
		return shortCopy(*fd, index, op)
	case cases.MmapWrite:
		return 0, mmapWrite(*fd, index, op)
	case cases.PolluteEOF:
		return 0, polluteEOF(*fd)
	case cases.Truncate:
		return 0, unix.Ftruncate(*fd, op.Off)
	case cases.Fallocate:
		if op.Sync != "" {
			return 0, syncFallocate(path, op)
		}
		mode := uint32(0)
		if op.KeepSize {
			mode = unix.FALLOC_FL_KEEP_SIZE
		}
		return 0, unix.Fallocate(*fd, mode, op.Off, op.Len)
	case cases.PunchHole:
		return 0, unix.Fallocate(*fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, op.Off, op.Len)
	case cases.ZeroRange:
		mode := uint32(unix.FALLOC_FL_ZERO_RANGE)
		if op.KeepSize {
			mode |= unix.FALLOC_FL_KEEP_SIZE
		}
		return 0, unix.Fallocate(*fd, mode, op.Off, op.Len)
	case cases.Fsync:
		return 0, unix.Fsync(*fd)
	case cases.Fdatasync:
		return 0, unix.Fdatasync(*fd)
	case cases.Sync:
		unix.Sync()
		return 0, nil
	case cases.DropCaches:
		unix.Sync()
		return 0, os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
	case cases.Remount:
		return 0, fs.remount(env)
	case cases.Collapse:
		return 0, unix.Fallocate(*fd, unix.FALLOC_FL_COLLAPSE_RANGE, op.Off, op.Len)
	case cases.Insert:
		return 0, unix.Fallocate(*fd, unix.FALLOC_FL_INSERT_RANGE, op.Off, op.Len)
	case cases.PWritev2:
		return pwritev2(*fd, index, op)
	case cases.SetUID:
		return 0, unix.Fchmod(*fd, setUIDMode)
	case cases.JournalData:
		flags, err := unix.IoctlGetUint32(*fd, unix.FS_IOC_GETFLAGS)
		if err != nil {
			return 0, fmt.Errorf("FS_IOC_GETFLAGS: %w", err)
		}
		return 0, unix.IoctlSetPointerInt(*fd, unix.FS_IOC_SETFLAGS, int(flags|fsJournalDataFl))
	}
	return 0, fmt.Errorf("op kind %q not implemented in the guest", op.Kind)
}

func short(n int, want int64, err error) error {
	if err != nil {
		return err
	}
	if int64(n) != want {
		return fmt.Errorf("short write: %d of %d bytes", n, want)
	}
	return nil
}

// direct writes through a separate O_DIRECT descriptor from page-aligned
// memory (mmap gives that), as O_DIRECT requires.
func direct(path string, index int, op cases.Op) (int64, error) {
	dfd, err := unix.Open(path, unix.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(dfd)
	size := int((op.Len + 4095) &^ 4095)
	buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(buf)
	cases.FillData(buf[:op.Len], index, op.Off)
	n, err := unix.Pwrite(dfd, buf[:op.Len], op.Off)
	return int64(n), short(n, op.Len, err)
}

// shortCopy passes pwrite a buffer of Len bytes of which only the first
// Copied are mapped: the kernel's copy from user space faults part way, the
// path iomap_write_iter handles with its short-copy rule. The short count is
// the expected outcome, not an error.
func shortCopy(fd int, index int, op cases.Op) (int64, error) {
	page := int64(os.Getpagesize())
	mapped := (op.Copied + page - 1) / page * page
	region, err := unix.Mmap(-1, 0, int(mapped+page+(op.Len/page+1)*page), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(region)
	// Everything from the first byte past Copied on is made inaccessible.
	if err := unix.Mprotect(region[mapped:], unix.PROT_NONE); err != nil {
		return 0, err
	}
	start := mapped - op.Copied
	cases.FillData(region[start:mapped], index, op.Off)
	buf := unsafe.Slice(&region[start], op.Len)
	n, err := unix.Pwrite(fd, buf, op.Off)
	if err != nil && !(op.Copied == 0 && err == unix.EFAULT) {
		return int64(n), err
	}
	return int64(n), nil
}

// mmapWrite stores through a shared mapping and msyncs. Like fsx's mapwrite
// it first extends the file when the range ends past EOF (a store past EOF
// would SIGBUS).
func mmapWrite(fd int, index int, op cases.Op) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if end := op.Off + op.Len; end > st.Size {
		if err := unix.Ftruncate(fd, end); err != nil {
			return err
		}
	}
	page := int64(os.Getpagesize())
	start := op.Off / page * page
	m, err := unix.Mmap(fd, start, int(op.Off+op.Len-start), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer unix.Munmap(m)
	cases.FillData(m[op.Off-start:], index, op.Off)
	return unix.Msync(m, unix.MS_SYNC)
}

// PolluteByte is what polluteeof stores past EOF; it must never reach the
// file's visible bytes or the on-disk EOF-block tail.
const PolluteByte = 0xEE

// polluteEOF writes garbage past EOF in the EOF page through mmap, as fsx -e
// does; the next size change must not expose it.
func polluteEOF(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	page := int64(os.Getpagesize())
	if st.Size%page == 0 {
		return nil
	}
	start := st.Size / page * page
	m, err := unix.Mmap(fd, start, int(page), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer unix.Munmap(m)
	for i := st.Size - start; i < page; i++ {
		m[i] = PolluteByte
	}
	return nil
}
