//go:build linux

package guest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const traceHeader = "# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"

func TestTraceLinesKeepsTheInodesEvents(t *testing.T) {
	text := traceHeader +
		"   agent-1  [000] .....  1.000001: iomap_write_begin: dev 254:0 ino 0x1c pos 0x0 len 0x64\n" +
		"   agent-1  [000] .....  1.000002: iomap_write_begin: dev 254:0 ino 0x1d pos 0x0 len 0x10\n" +
		"   agent-1  [000] .....  1.000003: iomap_write_end: dev 254:0 ino 0x1c pos 0x0 len 0x64 copied 0x64\n"
	got, err := traceLines(strings.NewReader(text), " ino 0x1c ", []string{"iomap_write_begin", "iomap_write_end"})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"iomap_write_begin: dev 254:0 ino 0x1c pos 0x0 len 0x64",
		"iomap_write_end: dev 254:0 ino 0x1c pos 0x0 len 0x64 copied 0x64",
	}, got)
}

// An overwritten ring buffer leaves a hole in the sequence; ftrace marks it,
// and the reader must say so instead of handing back a shorter sequence.
func TestTraceLinesReportsLostEvents(t *testing.T) {
	for _, mark := range []string{"CPU:0 [LOST 1234 EVENTS]", "CPU:1 [LOST EVENTS]"} {
		text := traceHeader + mark + "\n" +
			"   agent-1  [000] .....  1.000003: iomap_write_end: dev 254:0 ino 0x1c pos 0x0 len 0x64 copied 0x64\n"
		got, err := traceLines(strings.NewReader(text), " ino 0x1c ", []string{"iomap_write_end"})
		assert.ErrorIs(t, err, ErrTraceLost, mark)
		assert.Len(t, got, 1)
	}
}
