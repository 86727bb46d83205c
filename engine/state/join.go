package state

import (
	"errors"
	"strings"
)

// errStopJoin stops the copy-record scan of JoinCopies early.
var errStopJoin = errors.New("join stopped")

// JoinCopies calls fn for every RP in state (of one vault, when vault is
// not empty) with its copy record, or nil when it has none, in vault and
// ARN order. A copy record without an RP record is passed with rp nil.
// The two key ranges sort alike (ADR 0002), so this is a streamed merge:
// the copy records are read by a second scan running alongside.
func (st *Store) JoinCopies(vault string, fn func(rp *RP, rec *CopyRecord) error) error {
	recs := make(chan *CopyRecord, 256)
	done := make(chan struct{})
	scanErr := make(chan error, 1)
	go func() {
		defer close(recs)
		send := func(c *CopyRecord) error {
			select {
			case recs <- c:
				return nil
			case <-done:
				return errStopJoin
			}
		}
		var err error
		if vault == "" {
			err = st.ScanCopies(send)
		} else {
			err = st.ScanVaultCopies(vault, send)
		}
		if errors.Is(err, errStopJoin) {
			err = nil
		}
		scanErr <- err
	}()
	stop := func(err error) error {
		close(done)
		for range recs { // let the scan finish
		}
		if serr := <-scanErr; err == nil {
			err = serr
		}
		return err
	}
	next, ok := <-recs
	visit := func(rp *RP) error {
		for ok && compareKey(next.Vault, next.Arn, rp.Vault, rp.Arn) < 0 {
			if err := fn(nil, next); err != nil {
				return err
			}
			next, ok = <-recs
		}
		if ok && next.Vault == rp.Vault && next.Arn == rp.Arn {
			rec := next
			next, ok = <-recs
			return fn(rp, rec)
		}
		return fn(rp, nil)
	}
	var err error
	if vault == "" {
		err = st.ScanRPs(visit)
	} else {
		err = st.ScanVault(vault, visit)
	}
	for err == nil && ok {
		if err = fn(nil, next); err == nil {
			next, ok = <-recs
		}
	}
	return stop(err)
}

// compareKey orders (vault, arn) pairs as their state keys sort: vault
// + 0x00 + ARN, compared as bytes.
func compareKey(va, aa, vb, ab string) int {
	if c := strings.Compare(va, vb); c != 0 {
		return c
	}
	return strings.Compare(aa, ab)
}
