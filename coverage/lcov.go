package coverage

import (
	"bufio"
	"fmt"
	"io"
)

// WriteLCOV writes the report as an lcov tracefile (the geninfo format
// genhtml and lcov read: TN, SF, FN, FNDA, FNF, FNH, DA, LF, LH,
// end_of_record). Each file's SF is the source copy kept with the kernel,
// which is what this kernel was compiled from.
func WriteLCOV(w io.Writer, test string, r *Report) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Files {
		fmt.Fprintf(bw, "TN:%s\nSF:%s\n", test, f.Path)
		hit := 0
		for _, fn := range f.Functions {
			fmt.Fprintf(bw, "FN:%d,%s\n", fn.Start, fn.Name)
		}
		for _, fn := range f.Functions {
			fmt.Fprintf(bw, "FNDA:%d,%s\n", fn.Calls, fn.Name)
			if fn.Calls > 0 {
				hit++
			}
		}
		fmt.Fprintf(bw, "FNF:%d\nFNH:%d\n", len(f.Functions), hit)
		for _, l := range f.Lines {
			fmt.Fprintf(bw, "DA:%d,%d\n", l.N, l.Count)
		}
		fmt.Fprintf(bw, "LF:%d\nLH:%d\nend_of_record\n", len(f.Lines), f.Reached())
	}
	return bw.Flush()
}
