package judge

import (
	"fmt"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// checkReads holds what the guest's read and mapread ops returned against
// the model's content at that point of the sequence (check "read"), and
// the bytes a sync write's range holds on disk right after it (check
// "durable"), and the return values the model predicts for pwritev2 (check "return": bytes
// written, or EAGAIN where RWF_NOWAIT must or may give it).
func checkReads(v *Verdict, m *reference.Model, ops []cases.Op, res cases.Result) {
	backs := m.ReadBacks()
	for i, op := range ops {
		if i >= res.OpsDone {
			break
		}
		if rb, ok := backs[i]; ok {
			var got []byte
			if i < len(res.ReadData) {
				got = res.ReadData[i]
			}
			checkRead(v, i, ops, rb, got)
		}
		if want, ok := m.ExpectedReturn(i); ok && i < len(res.Returned) && res.Returned[i] != want {
			v.Failf("return", -1, "op %d (%s) returned %s, the model expects %s", i, op, retString(res.Returned[i]), retString(want))
		}
	}
}

func retString(r int64) string {
	if r == cases.EAGAIN {
		return "EAGAIN"
	}
	return fmt.Sprint(r)
}

func checkRead(v *Verdict, i int, ops []cases.Op, rb reference.ReadBack, got []byte) {
	op := ops[i]
	check := Check(CheckRead)
	if rb.Durable {
		// A sync write's range read back from the disk right after it
		// returned (generic_write_sync).
		check = CheckDurable
		if got == nil {
			v.Failf(check, rb.Off, "op %d (%s): the guest read nothing back from the disk", i, op)
			return
		}
	}
	if op.Kind == cases.Read && len(got) != len(rb.Data) {
		v.Failf(check, rb.Off, "op %d (%s) read %d byte(s), the model expects %d (i_size at that point: the read stops at EOF)", i, op, len(got), len(rb.Data))
	}
	want := rb.Data[:min(rb.Checked, int64(len(rb.Data)))]
	got = got[:min(len(got), len(want))]
	off, n := firstDiff(want, got)
	if off < 0 || off >= int64(len(got)) {
		return
	}
	end := min(off+n, int64(len(want)), int64(len(got)))
	who := "no op (the model says zero)"
	if want[off] != 0 {
		who = "no op"
		if w := rb.WriterAt(rb.Off + off); w >= 0 && w < len(ops) {
			who = fmt.Sprintf("op %d (%s)", w, ops[w])
		}
	}
	v.Failf(check, rb.Off+off, "op %d (%s): %d byte(s) differ in [%d, %d): expected %s, got %s; last written by %s", i, op, n,
		rb.Off+off, rb.Off+off+n, hexSample(want[off:end], 16), hexSample(got[off:end], 16), who)
	v.Failures[len(v.Failures)-1].ModelZero = want[off] == 0
}
