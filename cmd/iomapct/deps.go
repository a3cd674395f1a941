package main

import (
	"context"
	"fmt"
	"os"

	"github.com/iomapct/iomapct/filesystems"
)

// cmdDeps prints the Debian packages that hold the mkfs and fsck tools of
// every registered filesystem, one a line: scripts/deps.sh installs them,
// so a filesystem added to the registry brings its tools with it.
func cmdDeps(_ context.Context, args []string) int {
	if len(args) > 0 {
		if isHelp(args[0]) {
			fmt.Fprintln(os.Stderr, "usage: iomapct deps\n\nprints the Debian packages of the filesystems' mkfs and fsck tools, one a line (scripts/deps.sh installs them)")
			return exitPass
		}
		fmt.Fprintf(os.Stderr, "iomapct deps: unexpected arguments %q\n", args)
		return exitUsage
	}
	for _, p := range filesystems.Packages() {
		fmt.Println(p)
	}
	return exitPass
}
