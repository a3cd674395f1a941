package reference

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
)

// chmod+s changes locking only (xfs_file_write_checks restarts with the
// iolock exclusive, xfs_file.c:461-470; root keeps the bit through
// should_remove_suid): the bytes, size and blocks of every filesystem are
// those of the same ops without it (a second fsync in its place, which
// finds nothing dirty, keeps the later ops' numbers and data the same).
func TestSetUID_ChangesNoBytes_xfs_file_461_470(t *testing.T) {
	dio := cases.Op{Kind: cases.DirectWrite, Off: 0, Len: 4096}
	for _, g := range geometries {
		plain := mustRun(t, g, pw(0, 16384), fsync, fsync, dio, pw(4100, 20))
		m := mustRun(t, g, pw(0, 16384), fsync, cases.Op{Kind: cases.SetUID}, dio, pw(4100, 20))
		assert.Equal(t, plain.Content(), m.Content(), "%s bs=%d", g.FS, g.BlockSize)
		assert.Equal(t, plain.Size(), m.Size(), "%s bs=%d", g.FS, g.BlockSize)
		assert.Equal(t, states(plain), states(m), "%s bs=%d", g.FS, g.BlockSize)
	}
}
