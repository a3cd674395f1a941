package reference

import "github.com/iomapct/iomapct/cases"

// syncFallocate is what fallocate(2) through an O_SYNC or O_DSYNC
// descriptor (Op.Sync) adds to a plain one, after it:
//   - gfs2: __gfs2_fallocate ends in vfs_fsync_range over the asked range
//     [pos, pos+count-1] (gfs2/file.c:1365-1367), and gfs2_fsync writes
//     back the folios overlapping it (filemap_fdatawrite_range,
//     gfs2/file.c:751-755); fallocate refuses jdata files, so the
//     jdata whole-file case of writeSync does not arise;
//   - xfs: xfs_file_fallocate forces the inode's log
//     (xfs_log_force_inode, xfs_file.c:1135-1136): metadata only, no data
//     is written back;
//   - ext4: with O_SYNC (both bits; not O_DSYNC alone) ext4_fallocate
//     commits the journal (ext4_fc_commit, ext4/extents.c:4761-4764);
//     fallocate's blocks are unwritten extents, which order no data
//     (ext4_map_blocks adds ordered data only for new written blocks), so
//     no folio is written back either.
func (m *Model) syncFallocate(op cases.Op) {
	if m.fs == fsGFS2 {
		m.writeSync(op.Off, op.Off+op.Len)
	}
}
