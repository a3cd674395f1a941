package runner

import (
	"fmt"

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
