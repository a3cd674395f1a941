package proto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTripAndCompleteness(t *testing.T) {
	var buf bytes.Buffer
	e := NewEmitter(&buf)
	require.NoError(t, e.Emit(Ready, "", nil, nil))
	require.NoError(t, e.Emit(Result, "case-a", map[string]int{"ino": 12}, nil))
	require.NoError(t, e.Emit(Result, "case-b", nil, errors.New("EIO")))

	// Without the done record the stream counts as a crash.
	s, err := Read(bytes.NewReader(buf.Bytes()), nil)
	require.NoError(t, err)
	assert.False(t, s.Complete)
	require.Len(t, s.Records, 3)
	var got map[string]int
	require.NoError(t, s.Records[1].Decode(&got))
	assert.Equal(t, 12, got["ino"])
	assert.Equal(t, "EIO", s.Records[2].Error)

	require.NoError(t, e.Emit(Done, "", nil, nil))
	var seen []string
	s, err = Read(bytes.NewReader(buf.Bytes()), func(r Record) { seen = append(seen, r.Type) })
	require.NoError(t, err)
	assert.True(t, s.Complete)
	assert.Equal(t, []string{Ready, Result, Result, Done}, seen)
}

func TestTornLineIsGarbageNotError(t *testing.T) {
	in := "{\"type\":\"ready\",\"t\":0}\n{\"type\":\"resu"
	s, err := Read(bytes.NewReader([]byte(in)), nil)
	require.NoError(t, err)
	assert.Len(t, s.Records, 1)
	assert.Equal(t, []string{"{\"type\":\"resu"}, s.Garbage)
	assert.False(t, s.Complete)
}
