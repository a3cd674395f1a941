package coverage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/vmtest/proto"
)

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestParseStreamKeepsGcovRecordsByObject(t *testing.T) {
	var b bytes.Buffer
	em := proto.NewEmitter(&b)
	build := "/root/.cache/iomapct/work/x/build/"
	em.Emit(proto.Ready, "", nil, nil)
	em.Emit(proto.Gcov, "ext2-1k/mount", proto.GcovFiles{Files: []proto.GcovFile{
		{Path: build + "fs/ext2/inode.gcda", Gz: gz(t, "e2-0")},
		{Path: build + "fs/ext4/inode.gcda", Gz: gz(t, "e4-0")},
		{Path: build + "fs/namei.gcda", Gz: gz(t, "not asked for")},
	}}, nil)
	em.Emit(proto.Result, "ext2-1k/a", map[string]int{"x": 1}, nil)
	em.Emit(proto.Gcov, "ext2-1k/a", proto.GcovFiles{Files: []proto.GcovFile{{Path: build + "fs/ext2/inode.gcda", Gz: gz(t, "e2-1")}}}, nil)
	em.Emit(proto.Done, "", nil, nil)

	s, err := ParseStream(&b, []string{"fs/ext2/inode", "fs/ext4/inode"})
	require.NoError(t, err)
	assert.Equal(t, Stream{
		"fs/ext2/inode": {{Step: "ext2-1k/mount", Index: 1, Gcda: []byte("e2-0")}, {Step: "ext2-1k/a", Index: 2, Gcda: []byte("e2-1")}},
		"fs/ext4/inode": {{Step: "ext2-1k/mount", Index: 1, Gcda: []byte("e4-0")}},
	}, s)
}

func TestParseStreamReportsGuestError(t *testing.T) {
	var b bytes.Buffer
	em := proto.NewEmitter(&b)
	em.Emit(proto.Gcov, "xfs-4k/a", proto.GcovFiles{}, errors.New("read /sys/kernel/debug/gcov/x.gcda: EIO"))
	_, err := ParseStream(&b, []string{"fs/buffer"})
	assert.ErrorContains(t, err, "guest could not read its gcov counters after xfs-4k/a: read /sys/kernel/debug/gcov/x.gcda: EIO")
}

func TestStemOfPrefersTheLongestMatch(t *testing.T) {
	stems := []string{"fs/buffer", "fs/ext2/inode", "fs/ext4/inode"}
	assert.Equal(t, "fs/ext4/inode", stemOf("/b/fs/ext4/inode.gcda", stems))
	assert.Equal(t, "fs/buffer", stemOf("/b/fs/buffer.gcda", stems))
	assert.Equal(t, "", stemOf("/b/fs/xbuffer.gcda", stems))
}
