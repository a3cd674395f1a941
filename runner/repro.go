package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/iomapct/iomapct/internal/shell"
)

// replayCommand is the shell line that replays one failing case's ops file.
func replayCommand(o Options, opsFile string, v *Verdict) string {
	words := []string{"iomapct", "replay", opsFile, "--fs", v.FS, "--bs", fmt.Sprint(v.BlockSize), "--revision", o.Revision}
	if o.SeriesDir != "" {
		words = append(words, "--series", o.SeriesDir)
	}
	return shell.Join(words...)
}

// writeRepros saves each failing case's ops as a replay file in the run
// directory and records the command that replays it alone. A file it
// cannot write leaves that verdict without a repro; the error names every
// such file (the others are still written).
func writeRepros(o Options, vs []Verdict) error {
	dir := filepath.Join(o.Out, "repro")
	var errs *multierror.Error
	for i := range vs {
		v := &vs[i]
		if (v.Status != Fail && v.Status != Error) || len(v.Ops) == 0 || stopped(*v) {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("repro files: %w", err)
		}
		p := filepath.Join(dir, v.Disk+"-"+v.Case+".ops")
		text := fmt.Sprintf("# %s on %s (%s), revision %s\n%s\n", v.Case, v.Disk, v.Status, v.Revision, strings.Join(v.Ops, "\n"))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("repro file of %s/%s: %w", v.Disk, v.Case, err))
			continue
		}
		v.Repro = replayCommand(o, p, v)
	}
	return oneLine(errs)
}
