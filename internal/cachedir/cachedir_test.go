package cachedir

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOldestKeepsTheNewest(t *testing.T) {
	t0 := time.Unix(1000, 0)
	age := map[string]time.Time{"a": t0.Add(3), "b": t0.Add(1), "c": t0.Add(4), "d": t0.Add(2)}
	used := func(p string) (time.Time, error) {
		if tm, ok := age[p]; ok {
			return tm, nil
		}
		return time.Time{}, errors.New("being made")
	}
	paths := []string{"a", "b", "busy", "c", "d"}
	assert.Equal(t, []string{"d", "b"}, Oldest(paths, 2, used))
	assert.Equal(t, []string{"c", "a", "d", "b"}, Oldest(paths, 0, used))
	assert.Empty(t, Oldest(paths, 4, used), "busy is not counted")
	assert.Empty(t, Oldest(paths, 10, used))
}

func TestModTime(t *testing.T) {
	p := t.TempDir() + "/f"
	when := time.Unix(1_700_000_000, 0)
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	require.NoError(t, os.Chtimes(p, when, when))
	got, err := ModTime(p)
	require.NoError(t, err)
	assert.True(t, when.Equal(got))
	_, err = ModTime(p + "-missing")
	assert.Error(t, err)
}
