package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strconv"

	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"
)

// verifyTable reads every block of a table and checks its checksum, as
// Badger's OnTableRead mode does, but before Badger writes anything and
// without panicking on garbage.
func verifyTable(path string) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil && !errors.Is(err, z.NewFile) {
		return fmt.Errorf("cannot be opened: %v", err)
	}
	defer func() {
		// Badger's table reader trusts the offsets it reads: garbage
		// sends it out of bounds. What it hit means nothing to an
		// operator; that the file does not decode does.
		if r := recover(); r != nil {
			err = errors.New("is garbled (its index does not decode)")
		}
	}()
	t, err := table.OpenTable(mf, table.Options{ReadOnly: true, ChkMode: options.OnTableRead, Compression: options.None})
	if err != nil {
		return fmt.Errorf("fails its checksums (%v)", err)
	}
	return t.Close(-1)
}

// Entry bits of Badger's value log (value.go in Badger).
const (
	vlogBitTxn    byte = 1 << 6
	vlogBitFinTxn byte = 1 << 7
)

// verifyValueLog reads a closed value log's entries up to size and
// checks each checksum and transaction, as a read-write open of Badger
// does for the last value log, which it cuts at the first bad entry.
// A state closed cleanly ends on a whole transaction exactly at size.
func verifyValueLog(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot be opened: %v", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, vlogHeaderSize, size-vlogHeaderSize), 1<<20)
	off, validEnd := int64(vlogHeaderSize), int64(vlogHeaderSize)
	var inTxn uint64
	crc := crc32.New(y.CastagnoliCrcTable)
	for off < size {
		meta, key, val, n, err := readVlogEntry(r, crc)
		if err != nil {
			return fmt.Errorf("has a damaged entry at offset %d of %d (%v)", off, size, err)
		}
		off += n
		switch {
		case meta&vlogBitTxn > 0:
			ts := y.ParseTs(key)
			if inTxn == 0 {
				inTxn = ts
			}
			if ts != inTxn {
				return fmt.Errorf("has a broken transaction at offset %d of %d", off-n, size)
			}
		case meta&vlogBitFinTxn > 0:
			ts, err := strconv.ParseUint(string(val), 10, 64)
			if err != nil || ts != inTxn {
				return fmt.Errorf("has a broken transaction end at offset %d of %d", off-n, size)
			}
			inTxn, validEnd = 0, off
		default:
			if inTxn != 0 {
				return fmt.Errorf("has an entry inside a transaction at offset %d of %d", off-n, size)
			}
			validEnd = off
		}
	}
	if validEnd != size {
		return fmt.Errorf("ends inside a transaction at offset %d of %d", validEnd, size)
	}
	return nil
}

// readVlogEntry reads one entry: header (meta, user meta, uvarint key
// and value lengths and expiry), key, value, CRC-32C of all that.
func readVlogEntry(r *bufio.Reader, crc hash.Hash32) (meta byte, key, val []byte, n int64, err error) {
	crc.Reset()
	tee := &countingTee{r: r, h: crc}
	var hdr [2]byte
	if _, err = io.ReadFull(tee, hdr[:]); err != nil {
		return
	}
	klen, err := binary.ReadUvarint(tee)
	if err != nil {
		return
	}
	vlen, err := binary.ReadUvarint(tee)
	if err != nil {
		return
	}
	if _, err = binary.ReadUvarint(tee); err != nil {
		return
	}
	if klen == 0 && vlen == 0 {
		return 0, nil, nil, 0, errors.New("an empty entry")
	}
	if klen > 1<<16 || vlen > 1<<31 {
		return 0, nil, nil, 0, errors.New("impossible lengths")
	}
	buf := make([]byte, klen+vlen)
	if _, err = io.ReadFull(tee, buf); err != nil {
		return
	}
	sum := crc.Sum32()
	var c [4]byte
	if _, err = io.ReadFull(r, c[:]); err != nil {
		return
	}
	if binary.BigEndian.Uint32(c[:]) != sum {
		return 0, nil, nil, 0, errors.New("checksum mismatch")
	}
	return hdr[0], buf[:klen], buf[klen:], tee.n + 4, nil
}

// countingTee hashes and counts what it reads.
type countingTee struct {
	r *bufio.Reader
	h hash.Hash32
	n int64
}

func (t *countingTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	t.n += int64(n)
	return n, err
}

func (t *countingTee) ReadByte() (byte, error) {
	b, err := t.r.ReadByte()
	if err == nil {
		t.h.Write([]byte{b})
		t.n++
	}
	return b, err
}
