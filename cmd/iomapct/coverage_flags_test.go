package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A bad object list is a usage error found before anything is built.
func TestCoverageRejectsBadObjects(t *testing.T) {
	for _, objs := range []string{"fs/buffer.c", "buffer.o", "../fs/buffer.o", ""} {
		assert.Equal(t, exitUsage, run(context.Background(), []string{"coverage", "--objects", objs}), "--objects %q", objs)
	}
}
