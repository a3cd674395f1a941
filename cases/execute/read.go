//go:build linux

package execute

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
)

// readOp performs a Read (pread) or MapRead (loads through a shared
// mapping) and returns the bytes read: for pread as many as it returned
// (short at EOF), for mapread all Len of them.
func readOp(fd int, op cases.Op) ([]byte, error) {
	if op.Kind == cases.Read {
		buf := make([]byte, op.Len)
		n := 0
		// pread returns less than asked only at EOF or on a signal;
		// loop until EOF (0) so that a short return is EOF's.
		for int64(n) < op.Len {
			k, err := unix.Pread(fd, buf[n:], op.Off+int64(n))
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return nil, err
			}
			if k == 0 {
				break
			}
			n += k
		}
		return buf[:n], nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	page := int64(os.Getpagesize())
	// A load from a page wholly past EOF raises SIGBUS; the model refuses
	// such an op (ErrInvalid), so the guest refuses it too.
	if limit := (st.Size + page - 1) / page * page; op.Off+op.Len > limit {
		return nil, fmt.Errorf("mapread [%d, %d) reaches past the EOF page (size %d): it would SIGBUS", op.Off, op.Off+op.Len, st.Size)
	}
	start := op.Off / page * page
	m, err := unix.Mmap(fd, start, int(op.Off+op.Len-start), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(m)
	out := make([]byte, op.Len)
	copy(out, m[op.Off-start:])
	return out, nil
}

// keepReadData stores op i's bytes in the per-op list.
func keepReadData(list [][]byte, i int, data []byte) [][]byte {
	for len(list) <= i {
		list = append(list, nil)
	}
	if data == nil {
		data = []byte{}
	}
	list[i] = data
	return list
}

// syncWrite is a pwrite through a descriptor opened with O_SYNC or O_DSYNC:
// the write ends in generic_write_sync.
func syncWrite(path string, index int, op cases.Op) (int64, error) {
	flag := unix.O_SYNC
	if op.Sync == "odsync" {
		flag = unix.O_DSYNC
	}
	sfd, err := unix.Open(path, unix.O_WRONLY|flag, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(sfd)
	n, err := unix.Pwrite(sfd, cases.Data(index, op.Off, int(op.Len)), op.Off)
	return int64(n), short(n, op.Len, err)
}

var rwfBits = map[string]int{
	"dsync":  unix.RWF_DSYNC,
	"sync":   unix.RWF_SYNC,
	"nowait": unix.RWF_NOWAIT,
	"append": unix.RWF_APPEND,
}

// pwritev2 writes with RWF_* flags. With RWF_APPEND the kernel writes at
// i_size, so the data is made for that offset. RWF_NOWAIT may legitimately
// end early: EAGAIN is recorded as cases.EAGAIN and a short count as it is,
// for the judge to hold against the model.
func pwritev2(fd int, index int, op cases.Op) (int64, error) {
	flags := 0
	for name, bit := range rwfBits {
		if op.HasRWF(name) {
			flags |= bit
		}
	}
	at := op.Off
	if op.HasRWF("append") {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return 0, err
		}
		at = st.Size
	}
	n, err := unix.Pwritev2(fd, [][]byte{cases.Data(index, at, int(op.Len))}, op.Off, flags)
	if op.HasRWF("nowait") {
		if err == unix.EAGAIN {
			return cases.EAGAIN, nil
		}
		return int64(n), err
	}
	return int64(n), short(n, op.Len, err)
}
