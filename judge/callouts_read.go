package judge

import "github.com/iomapct/iomapct/reference"

// dropAbsent leaves out the expected steps the kernel may not have made
// (reference.Callout.MayBeAbsent: a RWF_NOWAIT write_begin that failed,
// when the EAGAIN the guest saw may have come from a check before it)
// where the trace has no failed begin at that position. Where it has one,
// its length is taken from the trace: a begin that failed to get its
// folio asked for a length the model does not follow (syncwrite.go).
func dropAbsent(want []attributedCallout, got []callout) []attributedCallout {
	out := want[:0:0]
	for _, a := range want {
		if a.c.MayBeAbsent {
			c, ok := failedBegin(got, a.c.Pos, a.c.Status)
			if !ok {
				continue
			}
			a.c.Len = c.Len
		}
		a.c.MayBeAbsent = false // the trace side never has it set
		out = append(out, a)
	}
	return out
}

func failedBegin(got []callout, pos int64, status int) (callout, bool) {
	for _, c := range got {
		if c.Status == status && c.Pos == pos && c.Kind == reference.CalloutWrite {
			return c, true
		}
	}
	return callout{}, false
}
