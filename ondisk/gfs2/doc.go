// Package gfs2 is a strict, read-only reader of gfs2 filesystem images,
// written from the kernel's on-disk format (include/uapi/linux/gfs2_ondisk.h,
// fs/gfs2/bmap.c, dir.c, rgrp.c, ops_fstype.c) so that the verdict on a
// write test never depends on the kernel under test.
//
// Every structure is big-endian. The superblock sits at byte 65536 whatever
// the block size; an inode number is the block address of its dinode.
// A dinode of height 0 is "stuffed": its data follows the 232-byte dinode
// in the same block and is reported as one ondisk.Inline extent. Taller
// dinodes point to a metadata tree whose levels all index in radix
// (bs-24)/8, the dinode's own (bs-232)/8 pointers included; a zero pointer
// is a hole, and gfs2 has no unwritten extents.
//
// Beyond ondisk.Reader the package answers block allocation questions from
// the resource group bitmaps (BlockState, Bitmap, Rgrps), lists and looks
// up directories, linear and exhash (ReadDir, Lookup, LookupMaster for the
// system files under the master directory), and returns a file's indirect
// blocks with its extents (Map).
//
// Every loop is bounded by what the image claims and by the image itself:
// trees may not share blocks, leaf chains may not loop, and ReadFile
// refuses files larger than FS.MaxReadSize.
package gfs2
