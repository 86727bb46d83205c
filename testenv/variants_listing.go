package testenv

// The variants that change what listings and descriptions say:
// no-key-type, nulls, short-pages and stale-counts.

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

// pageSize is the most items one page holds, whatever MaxResults asked.
const pageSize = 1000

// maxPage is the largest MaxResults accepted: 1000 as AWS's model says,
// or with short-pages any (AWS has accepted 2000 and answered with a
// short page, boto/boto3#3573).
func (s *Server) maxPage() int {
	if s.variant(VariantShortPages) {
		return math.MaxInt32
	}
	return pageSize
}

// pageLimit is how many items the page asked for max holds: short under
// the short_page_rate fault, at most pageSize, and with short-pages a
// random length for about one page in three.
func (s *Server) pageLimit(max int) int {
	if s.faults.shortPage() && max > 1 {
		max = 1 + max/3
	}
	max = min(max, pageSize)
	if s.variant(VariantShortPages) && max > 1 && s.variants.intN(3) == 0 {
		max = 1 + s.variants.intN(max-1)
	}
	return max
}

// listingVariants is what the variants change in recovery point
// answers, read once per call.
type listingVariants struct {
	noKeyType bool // no-key-type: EncryptionKeyType left out
	nulls     bool // nulls: absent members as null, exponent timestamps
}

func (s *Server) listingVariants() listingVariants {
	return listingVariants{noKeyType: s.variant(VariantNoKeyType), nulls: s.variant(VariantNulls)}
}

// view applies the variants to one recovery point's answer.
func (lv listingVariants) view(o rpOut) rpOut {
	if lv.noKeyType {
		o.EncryptionKeyType = ""
	}
	return o
}

// staleCount is the NumberOfRecoveryPoints a vault reports: n, or with
// stale-counts a count that lags it, above for some vaults and below for
// others (fixed by the seed and the vault's name), by a tenth plus a few.
func (s *Server) staleCount(v *Vault, n int64) int64 {
	if !s.variant(VariantStaleCounts) {
		return n
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(strconv.FormatInt(s.variants.seed, 10) + "|" + v.Arn))
	x := h.Sum64()
	skew := 1 + n/10 + int64((x>>1)%5)
	if x&1 == 0 {
		return n + skew
	}
	return max(0, n-skew)
}

// appendExpEpoch writes e in exponent notation, as AWS has been seen to
// (1.578560834253E9, boto/boto3#2260).
func appendExpEpoch(b []byte, e *epoch) []byte {
	var tmp [32]byte
	f := strconv.AppendFloat(tmp[:0], float64(time.Time(*e).UnixMilli())/1000, 'E', -1, 64)
	for i := 0; i < len(f); i++ {
		if f[i] != 'E' {
			continue
		}
		b = append(b, f[:i+1]...)
		exp := f[i+1:]
		if len(exp) > 0 && exp[0] == '+' {
			exp = exp[1:]
		}
		for len(exp) > 1 && exp[0] == '0' {
			exp = exp[1:]
		}
		return append(b, exp...)
	}
	return append(b, f...)
}

// appendNullableStr appends a string member that is absent when empty:
// with nulls, as null.
func appendNullableStr(b []byte, name, v string, nulls bool) []byte {
	if v == "" && nulls {
		return append(appendMemberName(b, name), "null"...)
	}
	return appendStrMember(b, name, v, true)
}

// appendDate appends a time member, in exponent notation with nulls.
func appendDate(b []byte, name string, e *epoch, nulls bool) []byte {
	switch {
	case e == nil && nulls:
		return append(appendMemberName(b, name), "null"...)
	case e == nil:
		return b
	case nulls:
		return appendExpEpoch(appendMemberName(b, name), e)
	}
	return appendEpoch(appendMemberName(b, name), e)
}
