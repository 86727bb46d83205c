package testenv

// The variants that change what listings and descriptions say:
// no-key-type, nulls, short-pages and stale-counts. ListRecoveryPoints-
// ByBackupVault writes its nulls itself (rp_json.go); ListBackupVaults
// and ListCopyJobs go through replyListing.

import (
	"bytes"
	"encoding/json"
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

// The optional members the nulls variant sends as null when absent,
// besides NextToken, in ListBackupVaults and ListCopyJobs.
var (
	vaultOptional   = []string{"CreatorRequestId", "EncryptionKeyArn", "LockDate", "MaxRetentionDays", "MinRetentionDays", "VaultState"}
	copyJobOptional = []string{"DestinationRecoveryPointArn", "ResourceName", "StatusMessage", "MessageCategory", "CompletionDate"}
)

// dateMembers are the members whose numbers are times.
var dateMembers = map[string]bool{"CreationDate": true, "CompletionDate": true, "LockDate": true}

// replyListing answers a listing: as it is, or with nulls its absent
// optional members (of the list's items, and NextToken) as null and its
// times in exponent notation.
func (s *Server) replyListing(c *call, out any, list string, optional []string) {
	if !s.variant(VariantNulls) {
		c.reply(out)
		return
	}
	b, err := json.Marshal(out)
	var m map[string]any
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		err = dec.Decode(&m)
	}
	if err != nil {
		c.fail(apiErr(500, "InternalFailure", "encode response: "+err.Error()), false)
		return
	}
	if _, ok := m["NextToken"]; !ok {
		m["NextToken"] = nil
	}
	items, _ := m[list].([]any)
	for _, it := range items {
		if item, ok := it.(map[string]any); ok {
			nullMembers(item, optional)
		}
	}
	c.reply(m)
}

// nullMembers sets item's absent optional members to null and writes
// its times in exponent notation.
func nullMembers(item map[string]any, optional []string) {
	for _, k := range optional {
		if _, ok := item[k]; !ok {
			item[k] = nil
		}
	}
	for k, v := range item {
		n, ok := v.(json.Number)
		if !ok || !dateMembers[k] {
			continue
		}
		f, err := n.Float64()
		if err != nil {
			continue
		}
		e := epoch(time.UnixMilli(int64(math.Round(f * 1000))))
		item[k] = json.Number(appendExpEpoch(nil, &e))
	}
}
