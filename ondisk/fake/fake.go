// Package fake is an in-memory ondisk.Reader: a test states what the image
// holds (an inode, its bytes, the bytes past EOF in its last block) and the
// code under test reads it as it would a real image, so every way an image
// can disagree with the model is one field away.
package fake

import (
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// File is one regular file of the fake image.
type File struct {
	Inode ondisk.Inode
	// Data is what ReadFile returns (normally Inode.Size bytes).
	Data []byte
	// Tail is what EOFTail returns: the on-disk bytes of the EOF block
	// past i_size.
	Tail []byte
}

// Reader serves Files by inode number and Paths by path.
type Reader struct {
	FS    string
	Block int
	Files map[uint64]*File
	Paths map[string]uint64
	// Blocks are raw blocks by number (RawBlock); missing ones read zero.
	Blocks map[uint64][]byte
}

var _ ondisk.Reader = (*Reader)(nil)

func (r *Reader) FSType() string { return r.FS }
func (r *Reader) BlockSize() int { return r.Block }

func (r *Reader) file(ino uint64) (*File, error) {
	f, ok := r.Files[ino]
	if !ok {
		return nil, fmt.Errorf("%s: no inode %d in the fake image", r.FS, ino)
	}
	return f, nil
}

// Inode returns a copy of the file's inode.
func (r *Reader) Inode(ino uint64) (*ondisk.Inode, error) {
	f, err := r.file(ino)
	if err != nil {
		return nil, err
	}
	in := f.Inode
	in.Ino = ino
	in.Extents = append([]ondisk.Extent(nil), f.Inode.Extents...)
	return &in, nil
}

// ReadFile returns a copy of the file's Data.
func (r *Reader) ReadFile(ino uint64) ([]byte, error) {
	f, err := r.file(ino)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), f.Data...), nil
}

// EOFTail returns a copy of the file's Tail.
func (r *Reader) EOFTail(ino uint64) ([]byte, error) {
	f, err := r.file(ino)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), f.Tail...), nil
}

// RawBlock returns block n (zeros unless Blocks has it).
func (r *Reader) RawBlock(n uint64) ([]byte, error) {
	if b, ok := r.Blocks[n]; ok {
		return append([]byte(nil), b...), nil
	}
	return make([]byte, r.Block), nil
}

// Lookup resolves a path through Paths.
func (r *Reader) Lookup(path string) (uint64, error) {
	if ino, ok := r.Paths[path]; ok {
		return ino, nil
	}
	return 0, fmt.Errorf("%s: %s: no such file in the fake image", r.FS, path)
}
