package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two runs building the agent into the shared cache directory get a file
// named by its content, never one the other is rewriting, and leave no
// temporary files behind.
func TestBuildAgentIsContentNamed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := BuildAgent(ctx, dir)
	require.NoError(t, err)
	second, err := BuildAgent(ctx, dir)
	require.NoError(t, err)
	require.Equal(t, first, second, "the same source must give the same agent path")

	data, err := os.ReadFile(first)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	require.Equal(t, "iomapct-agent-"+hex.EncodeToString(sum[:])[:16], filepath.Base(first))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{filepath.Base(first)}, names, "temporary build files must not be left behind")
}
