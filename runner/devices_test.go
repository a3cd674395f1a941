package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckMatrixAllowsOneLetterPerDisk(t *testing.T) {
	m := make([]Target, MaxDisks)
	require.NoError(t, CheckMatrix(m))
	err := CheckMatrix(append(m, Target{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at most 26 filesystem images per VM (27 asked for)")
}
