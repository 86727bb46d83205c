package state

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Every Badger key shuffle writes is built here, and only here. The
// layout is docs/adr/0001-badger-state-layout.md; change both together.

const sep = 0x00

var (
	keySchema     = []byte("meta/schema")
	keyIdentity   = []byte("meta/identity")
	keyGeneration = []byte("meta/generation")
	// keyStateID: the random id the marker (state.json) names too.
	keyStateID = []byte("meta/state_id")

	prefixVault = []byte("vault/")
	prefixPart  = []byte("part/")
	prefixRP    = []byte("rp/")
	prefixRun   = []byte("run/")
	prefixCopy  = []byte("copy/")
	prefixKey   = []byte("kmskey/")

	keyCopyWatermark = []byte("meta/copy/watermark")
	keyCopyAdopted   = []byte("meta/copy/adopted") // ADR 0002, adoption
)

// Side tells the source account's vaults from the destination's.
type Side byte

const (
	Source      Side = 's'
	Destination Side = 'd'
)

func join(prefix []byte, parts ...string) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n)
	k = append(k, prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, sep)
		}
		k = append(k, p...)
	}
	return k
}

// vaultKey: vault/ + side + 0x00 + name.
func vaultKey(side Side, name string) []byte { return join(prefixVault, string(side), name) }

// vaultPrefix: every vault of one side.
func vaultPrefix(side Side) []byte { return append(join(prefixVault, string(side)), sep) }

// partKey: part/ + vault + 0x00 + partition id.
func partKey(vault, id string) []byte { return join(prefixPart, vault, id) }

// partPrefix: every partition cursor of one vault.
func partPrefix(vault string) []byte { return append(join(prefixPart, vault), sep) }

// PartitionID is TYPE + 0x00 + the created-after bound as 16 hex digits
// ("" type: every type; 0: no lower bound).
func PartitionID(resourceType string, after int64) string {
	return resourceType + string(rune(sep)) + fmt.Sprintf("%016x", uint64(after))
}

// rpKey: rp/ + vault + 0x00 + RP ARN.
func rpKey(vault, arn string) []byte { return join(prefixRP, vault, arn) }

// rpVaultPrefix: every RP of one vault.
func rpVaultPrefix(vault string) []byte { return append(join(prefixRP, vault), sep) }

// copyKey: copy/ + vault + 0x00 + RP ARN (ADR 0002).
func copyKey(vault, arn string) []byte { return join(prefixCopy, vault, arn) }

// copyVaultPrefix: every copy record of one vault.
func copyVaultPrefix(vault string) []byte { return append(join(prefixCopy, vault), sep) }

// kmsKeyKey: kmskey/ + KMS key ARN.
func kmsKeyKey(arn string) []byte { return join(prefixKey, arn) }

// epochKey: meta/epoch/ + kind.
func epochKey(k EpochKind) []byte { return []byte("meta/epoch/" + string(k)) }

// cacheKey: meta/cache/ + name of a derived step.
func cacheKey(name string) []byte { return []byte("meta/cache/" + name) }

// runKey: run/ + start time in ns, big-endian.
func runKey(startNanos int64) []byte {
	k := append([]byte(nil), prefixRun...)
	return binary.BigEndian.AppendUint64(k, uint64(startNanos))
}

func uint64Bytes(v uint64) []byte { return []byte(strconv.FormatUint(v, 10)) }

// The counters (ADR 0001, "counters kept with the records").
var (
	keySummaryOK      = []byte("sum/ok")
	prefixSummary     = []byte("sum/")
	prefixSummaryBase = []byte("sum/b/")
	prefixSumDelta    = []byte("sum/d/")
)

// summaryBaseKey: sum/b/ + cube letter + chunk number, 4 bytes
// big-endian: a question reads only its cube's base.
func summaryBaseKey(cube Cube, chunk int) []byte {
	return binary.BigEndian.AppendUint32(append(append([]byte(nil), prefixSummaryBase...), byte(cube)), uint32(chunk))
}

// summaryDeltaKey: sum/d/ + Unix ns (8 bytes) + a counter (4 bytes), both
// big-endian: unique within the one process that holds the state.
func summaryDeltaKey(nanos int64, n uint32) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte(nil), prefixSumDelta...), uint64(nanos))
	return binary.BigEndian.AppendUint32(k, n)
}

// The forecast's inputs, kept with the records (ADR 0001, amended for
// issue 17): fw/ for RPs left to copy, fd/ for completed copy jobs.
var (
	prefixFcWork = []byte("fw/")
	prefixFcDone = []byte("fd/")
)

// fcKey: fw/ or fd/ + FNV-1a 64 of vault + 0x00 + RP ARN, 8 bytes
// big-endian. A short key keeps the forecast's scan inside the LSM tree;
// two RPs whose hashes collide (about 1 in 10^7 at a million) would
// share one entry, which moves a forecast by one job.
func fcKey(prefix []byte, vault, arn string) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), fnv64(vault+"\x00"+arn))
}
