package judge

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
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

// A RWF_NOWAIT begin that failed at the position of the failed begin just
// before it (a new iteration of the same write, started where the last one
// stopped) is one failure where mappings are not compared; a failure at
// another position, with another status, or after a step that succeeded
// is kept.
func TestRepeatedFailedBeginIsOne(t *testing.T) {
	fail := func(pos int64, status int) callout {
		var c callout
		c.Kind, c.Pos, c.Len, c.Status = reference.CalloutWrite, pos, 0xa, status
		return c
	}
	ok := fail(0x2000, 0)
	var seen []attributedCallout
	var kept []callout
	for _, c := range []callout{ok, fail(0x3000, cases.EAGAIN), fail(0x3000, cases.EAGAIN), fail(0x3000, -5), fail(0x6000, cases.EAGAIN)} {
		if repeatedFailedBegin(seen, c) {
			continue
		}
		seen = append(seen, attributedCallout{c: c, op: -1})
		kept = append(kept, c)
	}
	assert.Equal(t, []callout{ok, fail(0x3000, cases.EAGAIN), fail(0x3000, -5), fail(0x6000, cases.EAGAIN)}, kept)
	assert.False(t, repeatedFailedBegin([]attributedCallout{{c: ok}}, fail(0x2000, cases.EAGAIN)), "after a step that succeeded")
}
