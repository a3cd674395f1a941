package vmtest

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Two vCPUs are asked for as two sockets: SeaBIOS's MP table (no ACPI)
// lists one CPU per socket, so "-smp 2" alone boots one.
func TestSMPAsSockets(t *testing.T) {
	args := Machine{CPUs: 2}.Args("file,path=/dev/null")
	i := slices.Index(args, "-smp")
	assert.Equal(t, "2,sockets=2,cores=1", args[i+1])
	args = Machine{}.Args("file,path=/dev/null")
	i = slices.Index(args, "-smp")
	assert.Equal(t, "1", args[i+1])
}
