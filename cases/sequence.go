package cases

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// A replay file holds one op per line in Op.String syntax. Lines starting
// with '#' and blank lines are comments; a generated file starts with a
// header comment naming the seed, filesystem and block size (see
// SequenceHeader), so a failure can be regenerated as well as replayed.

// SequenceHeader is the header comment of a generated sequence.
func SequenceHeader(seed int64, fs string, bs int64) string {
	return fmt.Sprintf("iomapct random sequence seed=%d fs=%s bs=%d", seed, fs, bs)
}

// WriteSequence writes ops one per line, preceded by each comment line as a
// '#' comment.
func WriteSequence(w io.Writer, ops []Op, comments ...string) error {
	bw := bufio.NewWriter(w)
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			fmt.Fprintf(bw, "# %s\n", line)
		}
	}
	for _, o := range ops {
		if err := o.Validate(); err != nil {
			return err
		}
		fmt.Fprintln(bw, o.String())
	}
	return bw.Flush()
}

// ReadSequence parses a replay file; an error names the line at fault.
func ReadSequence(r io.Reader) ([]Op, error) {
	var out []Op
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // writev lines can be long
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		o, err := ParseOp(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}
