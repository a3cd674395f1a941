package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The repro line survives a run directory or series path with shell
// metacharacters in it.
func TestReplayCommandQuotes(t *testing.T) {
	o := Options{Revision: "v1", SeriesDir: "kernel/patches/it's mine"}
	v := &Verdict{FS: "xfs", BlockSize: 1024}
	assert.Equal(t, `iomapct replay '/tmp/run $x/repro/xfs-1k-a`+"`b`"+`.ops' --fs xfs --bs 1024 --revision v1 --series 'kernel/patches/it'\''s mine'`,
		replayCommand(o, "/tmp/run $x/repro/xfs-1k-a`b`.ops", v))
}
