//go:build linux

package execute

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
)

// shared runs the shared-extent ops: clone, dedupe and copyrange from file
// op.Src into fd (file op.File), unshare on fd.
func shared(fs *files, fd int, op cases.Op) (int64, error) {
	src := fs.fds[op.Src]
	switch op.Kind {
	case cases.Clone:
		err := unix.IoctlFileCloneRange(fd, &unix.FileCloneRange{
			Src_fd: int64(src), Src_offset: uint64(op.SrcOff), Src_length: uint64(op.Len), Dest_offset: uint64(op.Off),
		})
		return 0, err
	case cases.Dedupe:
		return dedupe(src, fd, op)
	case cases.CopyRange:
		return copyRange(fs.paths[op.Src], fd, op)
	case cases.Unshare:
		mode := uint32(unix.FALLOC_FL_UNSHARE_RANGE)
		if op.KeepSize {
			mode |= unix.FALLOC_FL_KEEP_SIZE
		}
		return 0, unix.Fallocate(fd, mode, op.Off, op.Len)
	}
	return 0, fmt.Errorf("op kind %q is not a shared-extent op", op.Kind)
}

// dedupe asks FIDEDUPERANGE for one destination and returns its status:
// FILE_DEDUPE_RANGE_SAME (0) or FILE_DEDUPE_RANGE_DIFFERS (1); a negative
// status is the errno the kernel put there, an error.
func dedupe(src, dst int, op cases.Op) (int64, error) {
	arg := unix.FileDedupeRange{
		Src_offset: uint64(op.SrcOff),
		Src_length: uint64(op.Len),
		Info:       []unix.FileDedupeRangeInfo{{Dest_fd: int64(dst), Dest_offset: uint64(op.Off)}},
	}
	if err := unix.IoctlFileDedupeRange(src, &arg); err != nil {
		return 0, err
	}
	st := arg.Info[0].Status
	if st < 0 {
		return int64(st), fmt.Errorf("FIDEDUPERANGE status %d: %w", st, unix.Errno(-st))
	}
	return int64(st), nil
}

// copyRange calls copy_file_range until the range is copied or a call
// copies nothing (the source ended), as cp does: xfs returns a remap cut
// to whole blocks, and the rest then goes through splice. The source is
// read through a descriptor of its own, so the file's own struct file (its
// readahead state) is left alone, as with O_DIRECT writes.
func copyRange(srcPath string, dst int, op cases.Op) (int64, error) {
	src, err := unix.Open(srcPath, unix.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(src)
	inOff, outOff := op.SrcOff, op.Off
	var total int64
	for total < op.Len {
		n, err := unix.CopyFileRange(src, &inOff, dst, &outOff, int(op.Len-total), 0)
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
		total += int64(n)
	}
	return total, nil
}
