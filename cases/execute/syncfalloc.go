package execute

import (
	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
)

// syncFallocate is fallocate(2) through a descriptor opened with O_SYNC or
// O_DSYNC: gfs2 then ends __gfs2_fallocate in vfs_fsync_range, xfs in
// xfs_log_force_inode, ext4 (O_SYNC only) in a journal commit.
func syncFallocate(path string, op cases.Op) error {
	flag := unix.O_SYNC
	if op.Sync == "odsync" {
		flag = unix.O_DSYNC
	}
	sfd, err := unix.Open(path, unix.O_WRONLY|flag, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sfd)
	mode := uint32(0)
	if op.KeepSize {
		mode = unix.FALLOC_FL_KEEP_SIZE
	}
	return unix.Fallocate(sfd, mode, op.Off, op.Len)
}

// setUIDMode is what the chmod+s op gives the file: set-user-ID, rwxr-xr-x.
const setUIDMode = 0o4755
