package judge

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/reference"
)

// An expected failed begin that may be absent is kept where the trace has
// it and dropped where it does not; other steps are always kept.
func TestDropAbsentKeepsTracedFailedBegins(t *testing.T) {
	mk := func(pos int64, st int, maybe bool) attributedCallout {
		c := callout{Callout: reference.Callout{Kind: reference.CalloutWrite, Pos: pos, Len: 3, MayBeAbsent: maybe}}
		c.Status = st
		return attributedCallout{c: c, op: 1}
	}
	want := []attributedCallout{mk(0x100, 0, false), mk(0x45ffd, -11, true)}
	traced := []callout{want[0].c, want[1].c}
	assert.Len(t, dropAbsent(want, traced), 2)
	assert.Len(t, dropAbsent(want, traced[:1]), 1)
	traced[1].Len = 0x1000 // asked for more: the folio was never obtained
	kept := dropAbsent(want, traced)
	assert.Equal(t, int64(0x1000), kept[1].c.Len, "the asked length comes from the trace")
	assert.False(t, kept[1].c.MayBeAbsent)
	want[1].c.MayBeAbsent = false
	assert.Len(t, dropAbsent(want, traced[:1]), 2, "a step the kernel must have made stays expected")
}
