package reference

// setUID is fchmod(2) to a set-user-ID mode (cases.SetUID). It changes no
// byte and no block. What it changes is locking: notify_change clears
// S_NOSEC for a set-user-ID mode (fs/attr.c:422) and inode_has_no_xattr
// (include/linux/fs.h:3744-3748) never sets it again for an is_sxid file,
// so every write runs file_remove_privs' checks, and xfs takes an aligned
// direct write's shared iolock, finds !IS_NOSEC and restarts with it
// exclusive (xfs_file_write_checks, xfs_file.c:461-470); ext4 likewise
// takes i_rwsem exclusive (ext4_dio_write_checks, ext4/file.c:463). The guest
// runs as root, whose CAP_FSETID keeps the bit (should_remove_suid), so
// there is nothing to remove and the writes' bytes are as on any file.
func (m *Model) setUID() {}
