package kernel

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every mutant in the repository names its one-line description, the
// check that must catch it and the filesystems it changes.
func TestMutantsDescribeThemselves(t *testing.T) {
	ms, err := ReadMutants(filepath.Join("mutants"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ms), 12)
	for _, m := range ms {
		assert.NotEmpty(t, m.Subject, m.Name)
		assert.NotEmpty(t, m.Kills, m.Name)
		assert.NotEmpty(t, m.FS, m.Name)
		assert.Len(t, m.Series(Series{}).Patches, 1, m.Name)
		assert.NotEmpty(t, patchFiles(m.Patch.Body), "%s touches no file", m.Name)
	}
}

func TestMutantMissingTrailerIsNamed(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.patch"),
		[]byte("Subject: [MUTANT] x: y\n\nMutant-FS: xfs\n---\n--- a/f\n+++ b/f\n"), 0o644))
	_, err := ReadMutants(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "m.patch: no Mutant-Kills trailer")
}

// Every mutant applies to the 6.12 source, on top of the revision it
// names (Mutant-Base), as one patch would in a build.
func TestMutantsApplyToTheSource(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs the extracted linux-source-6.12 tree")
	}
	_, src := realSource(t)
	ms, err := ReadMutants("mutants")
	require.NoError(t, err)
	for _, m := range ms {
		var base Series
		if m.Base != "" {
			base, err = ReadSeries(filepath.Join("patches", "iomap-write-ops", m.Base))
			require.NoError(t, err, m.Name)
		}
		dir, err := m.Series(base).Stage(context.Background(), src.Dir)
		os.RemoveAll(dir)
		assert.NoError(t, err, "mutant %s", m.Name)
	}
}
