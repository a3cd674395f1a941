package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// buildCLI compiles this command into a temporary directory and returns
// the binary and the repository root the tests run it from.
func buildCLI(t *testing.T) (bin, root string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin = filepath.Join(t.TempDir(), "iomapct")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin, root
}
