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

func TestTornLineIsUndecodableNotError(t *testing.T) {
	in := "{\"type\":\"ready\",\"t\":0}\n{\"type\":\"resu\n{\"t\":1}"
	var seen []string
	s, err := Read(bytes.NewReader([]byte(in)), func(r Record) { seen = append(seen, r.Type) })
	require.NoError(t, err)
	require.Len(t, s.Records, 3)
	assert.Equal(t, []string{Ready}, seen, "each sees only records")
	assert.Equal(t, Undecodable, s.Records[1].Type)
	assert.Equal(t, "{\"type\":\"resu", s.Records[1].Raw)
	assert.Contains(t, s.Records[1].Error, "unexpected end of JSON input")
	assert.Equal(t, Record{Type: Undecodable, Error: "no record type", Raw: `{"t":1}`}, s.Records[2])
	assert.False(t, s.Complete)
}
