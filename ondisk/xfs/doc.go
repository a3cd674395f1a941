// Package xfs is a strict, read-only, pure-Go reader of XFS v5 filesystem
// images. It reads the superblock, v3 inodes, data fork block maps
// (EXTENTS, and BTREE of any height with BMA3 blocks) and directories
// (shortform, block, leaf and node: every data block is scanned), so that
// a verdict about a file's on-disk bytes never depends on the kernel that
// wrote them.
//
// Everything read from the image is checked before it is used: magic
// numbers, CRC32c checksums, owners, self-addresses, sibling chains and
// every bound. A violation is reported as an *ondisk.CorruptError carrying
// the image byte offset of the offending structure. Every loop is bounded
// by what the image claims and by the reader's own limits (Options).
//
// Block numbers: XFS stores fsblock numbers (agno << agblklog | agbno);
// this package reports linear block numbers (agno*agblocks + agbno), whose
// byte address is n*BlockSize, in ondisk.Extent.Physical and RawBlock.
//
// Not supported, with a clear error: v4 filesystems, unknown incompatible
// features, needsrepair, realtime files. Regular files with a LOCAL data
// fork are corrupt (XFS never inlines regular file data). Extents past EOF
// (speculative or fallocate preallocation) are reported as stored.
//
// Tests build images with xfsprogs 6.1.0. It accepts the pinned options
// "mkfs.xfs -f -K -b size=BS -m crc=1,reflink=1,rmapbt=0 -i nrext64=0|1",
// but refuses filesystems below 300 MB unless TEST_DIR, TEST_DEV and
// QA_CHECK_FS are all set (the xfstests exemption), and even then needs
// at least 16 MiB (4096 blocks of 4 KiB; the log's minimum for 1 KiB
// blocks with reflink).
package xfs
