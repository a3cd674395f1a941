package gfs2

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

var (
	small512Once sync.Once
	small512     []byte
)

// small512Image is a fresh 512-byte-block image, built once per test
// binary and never modified: callers copy it.
func small512Image(t testing.TB) []byte {
	small512Once.Do(func() {
		img := freshImage(t, blockSizes[0])
		b, err := os.ReadFile(img)
		require.NoError(t, err)
		small512 = b
	})
	require.NotNil(t, small512, "building the shared 512-byte image failed earlier")
	return bytes.Clone(small512)
}

func put32(b []byte, off int64, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int64, v uint64) { binary.BigEndian.PutUint64(b[off:], v) }

func requireCorruptAt(t *testing.T, err error, off int64) {
	t.Helper()
	var ce *ondisk.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int64(off), ce.Offset, "error: %v", err)
	assert.Equal(t, "gfs2", ce.FS)
}

// TestCorruptionIsReportedWhereItIs damages one field at a time and checks
// the reader names the offset of the damaged structure.
func TestCorruptionIsReportedWhereItIs(t *testing.T) {
	base := small512Image(t)
	fs, err := Open(bytes.NewReader(base))
	require.NoError(t, err)
	const bs = 512
	journal, err := fs.LookupMaster("jindex/journal0")
	require.NoError(t, err)
	jm, err := fs.Map(journal)
	require.NoError(t, err)
	rg0 := int64(fs.Rgrps()[0].Addr) * bs
	jOff := int64(journal) * bs
	ind0 := int64(jm.Indirect[0]) * bs

	openCases := []struct {
		name  string
		patch func(b []byte)
		at    int64
	}{
		{"sb magic", func(b []byte) { put32(b, sbAddr, 0x12345678) }, sbAddr},
		{"sb type", func(b []byte) { put32(b, sbAddr+4, typeDI) }, sbAddr},
		{"sb format", func(b []byte) { put32(b, sbAddr+24, 1700) }, sbAddr + 24},
		{"sb multihost", func(b []byte) { put32(b, sbAddr+28, 1) }, sbAddr + 28},
		{"sb bsize", func(b []byte) { put32(b, sbAddr+36, 1000) }, sbAddr + 36},
		{"sb bsize_shift", func(b []byte) { put32(b, sbAddr+40, 10) }, sbAddr + 40},
		{"root outside", func(b []byte) { put64(b, sbAddr+88, 1<<40) }, sbAddr + 88},
		{"master not a dinode", func(b []byte) { put64(b, sbAddr+56, jm.Indirect[0]) }, ind0},
		{"rgrp header magic", func(b []byte) { put32(b, rg0, 0) }, rg0},
		{"rgrp rg_data", func(b []byte) { put32(b, rg0+56, 7) }, rg0 + 56},
		{"rgrp rg_crc", func(b []byte) { put32(b, rg0+28, 1) }, rg0 + 64},
	}
	for _, c := range openCases {
		t.Run(c.name, func(t *testing.T) {
			img := bytes.Clone(base)
			c.patch(img)
			_, err := Open(bytes.NewReader(img))
			requireCorruptAt(t, err, c.at)
		})
	}

	inodeCases := []struct {
		name  string
		patch func(b []byte)
		at    int64
	}{
		{"no_addr", func(b []byte) { put64(b, jOff+diNumAddr, 5) }, jOff + diNumAddr},
		{"height", func(b []byte) { binary.BigEndian.PutUint16(b[jOff+diHeight:], 11) }, jOff + diHeight},
		{"stuffed too big", func(b []byte) {
			binary.BigEndian.PutUint16(b[jOff+diHeight:], 0)
		}, jOff + diSize},
		{"shared indirect block", func(b []byte) {
			copy(b[jOff+dinodeSize+8:], b[jOff+dinodeSize:jOff+dinodeSize+8])
		}, jOff + dinodeSize + 8},
		{"indirect block type", func(b []byte) { put32(b, ind0+4, typeLF) }, ind0},
		{"pointer outside", func(b []byte) { put64(b, ind0+metaHeaderSize, 1<<33) }, ind0 + metaHeaderSize},
	}
	for _, c := range inodeCases {
		t.Run(c.name, func(t *testing.T) {
			img := bytes.Clone(base)
			c.patch(img)
			fs, err := Open(bytes.NewReader(img))
			require.NoError(t, err)
			_, err = fs.Inode(journal)
			requireCorruptAt(t, err, c.at)
			_, err = fs.ReadFile(journal)
			requireCorruptAt(t, err, c.at)
		})
	}
}

// TestCorruptDirectory damages the root directory, a linear (stuffed) one.
func TestCorruptDirectory(t *testing.T) {
	base := small512Image(t)
	fs, err := Open(bytes.NewReader(base))
	require.NoError(t, err)
	root := fs.Superblock().RootDir.Addr
	d := int64(root)*512 + dinodeSize
	second := d + int64(binary.BigEndian.Uint16(base[d+20:]))
	cases := []struct {
		name  string
		patch func(b []byte)
		at    int64
	}{
		{"rec_len too small", func(b []byte) { binary.BigEndian.PutUint16(b[d+20:], 3) }, d},
		{"rec_len past the block", func(b []byte) { binary.BigEndian.PutUint16(b[d+20:], 4096) }, d},
		{"misaligned", func(b []byte) { binary.BigEndian.PutUint16(b[d+20:], 44) }, d + 44},
		{"hash", func(b []byte) { put32(b, d+16, 1) }, d},
		{"name_len", func(b []byte) { binary.BigEndian.PutUint16(b[d+22:], 300) }, d},
		{"unused entry not first", func(b []byte) { put64(b, second+8, 0) }, second},
		{"entry outside", func(b []byte) { put64(b, second+8, 1<<40) }, second + 8},
		{"formal inode number", func(b []byte) { put64(b, second, 77) }, second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := bytes.Clone(base)
			c.patch(img)
			fs, err := Open(bytes.NewReader(img))
			require.NoError(t, err)
			if c.name == "formal inode number" {
				// Only following the entry shows it.
				_, err = fs.Lookup("/..")
				requireCorruptAt(t, err, c.at)
				return
			}
			_, err = fs.ReadDir(root)
			requireCorruptAt(t, err, c.at)
			_, err = fs.Lookup("/x")
			requireCorruptAt(t, err, c.at)
		})
	}
}

// TestTruncatedImage cuts the image inside the journal: Open still works
// (the metadata it needs is earlier), but the rindex says the filesystem
// is larger than the image, which is corruption.
func TestTruncatedImage(t *testing.T) {
	base := small512Image(t)
	_, err := Open(bytes.NewReader(base[:len(base)/2]))
	var ce *ondisk.CorruptError
	require.ErrorAs(t, err, &ce)
	_, err = Open(bytes.NewReader(base[:sbAddr+100]))
	requireCorruptAt(t, err, sbAddr)
}

// readerOnly hides Size, so Open cannot bound block numbers by the image
// size until it has read the rindex.
type readerOnly struct{ r *bytes.Reader }

func (r readerOnly) ReadAt(p []byte, off int64) (int, error) { return r.r.ReadAt(p, off) }

func TestOpenWithoutImageSize(t *testing.T) {
	base := small512Image(t)
	sized, err := Open(bytes.NewReader(base))
	require.NoError(t, err)
	fs, err := Open(readerOnly{bytes.NewReader(base)})
	require.NoError(t, err)
	assert.Equal(t, sized.Blocks(), fs.Blocks())
	ino, err := fs.LookupMaster("jindex/journal0")
	require.NoError(t, err)

	// The read limit refuses a file before allocating for it.
	fs.MaxReadSize = 1 << 20
	_, err = fs.ReadFile(ino)
	assert.ErrorContains(t, err, "read limit")
	fs.MaxReadSize = DefaultMaxReadSize
	data, err := fs.ReadFile(ino)
	require.NoError(t, err)
	assert.Len(t, data, 8<<20)
}
