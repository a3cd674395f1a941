package runner

import "github.com/iomapct/iomapct/reference"

// dropAbsent leaves out the expected steps the kernel may not have made
// (reference.Callout.MayBeAbsent: a RWF_NOWAIT write_begin that failed,
// when the EAGAIN the guest saw may have come from a check before it)
// where the trace has no failed begin at that position.
func dropAbsent(want []attributedCallout, got []callout) []attributedCallout {
	out := want[:0:0]
	for _, a := range want {
		if a.c.MayBeAbsent && !hasFailedBegin(got, a.c.Pos, a.c.Status) {
			continue
		}
		a.c.MayBeAbsent = false // the trace side never has it set
		out = append(out, a)
	}
	return out
}

func hasFailedBegin(got []callout, pos int64, status int) bool {
	for _, c := range got {
		if c.Status == status && c.Pos == pos && c.Kind == reference.CalloutWrite {
			return true
		}
	}
	return false
}
