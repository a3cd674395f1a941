package vmtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHasVirtFlag(t *testing.T) {
	assert.True(t, hasVirtFlag([]byte("processor\t: 0\nflags\t\t: fpu vme svm sse3\n")))
	assert.True(t, hasVirtFlag([]byte("flags\t\t: fpu vmx\nbugs\t\t: spectre_v1\n")))
	// A hypervisor guest without nested virtualisation: /dev/kvm may exist,
	// but neither flag does ("vmxx" and "bugs: svm" do not count).
	assert.False(t, hasVirtFlag([]byte("flags\t\t: fpu vme hypervisor vmxx\nbugs\t\t: svm\n")))
	assert.False(t, hasVirtFlag(nil))
}
