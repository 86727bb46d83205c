package awsclient

import (
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	smithytime "github.com/aws/smithy-go/time"
)

// The decoder below reads one ListRecoveryPointsByBackupVault response
// body into the SDK's output type. It accepts only input it can decode
// exactly as the SDK's restjson1 decoder would (the tests hold it to
// that) and reports false for anything else, so that the caller hands
// the page to the SDK: a null, a duplicate member, a member name with
// an escape, a value of the wrong JSON type, a number out of range,
// malformed JSON, nesting deeper than maxDepth.
//
// Per recovery point it makes two allocations: one string that holds
// all the RP's string values (escaped strings, which are rare, cost one
// more), and one block behind the output's pointer fields. The SDK
// makes one per field.

// String members, indexes into rpScratch.str. The enums come last:
// their values are not pointers, so rpBlock has no room for them.
const (
	sBackupVaultArn = iota
	sBackupVaultName
	sCompositeMemberIdentifier
	sEncryptionKeyArn
	sIamRoleArn
	sIndexStatusMessage
	sParentRecoveryPointArn
	sRecoveryPointArn
	sResourceArn
	sResourceName
	sResourceType
	sSourceBackupVaultArn
	sStatusMessage
	sPlanArn // RecoveryPointCreator members
	sPlanID
	sPlanName
	sPlanVersion
	sRuleCron
	sRuleID
	sRuleName
	sRuleTimezone
	// The enums, whose values are not pointers.
	sEncryptionKeyType
	sIndexStatus
	sStatus
	sVaultType
	sDeleteAfterEvent // Lifecycle member
	nStr
)

// nPtrStr is the number of string members that are pointers.
const nPtrStr = sEncryptionKeyType

// Timestamp members.
const (
	tCompletionDate = iota
	tCreationDate
	tInitiationDate
	tLastRestoreTime
	tDeleteAt            // CalculatedLifecycle
	tMoveToColdStorageAt // CalculatedLifecycle
	tLastComputed        // AggregatedScanResult
	nTime
)

// Integer members.
const (
	iBackupSizeInBytes          = iota
	iDeleteAfterDays            // Lifecycle
	iMoveToColdStorageAfterDays // Lifecycle
	nInt
)

// Presence of nested structures and of the booleans. Together with
// strSet, timeSet and intSet these also catch a member given twice.
const (
	oCreatedBy = 1 << iota
	oLifecycle
	oCalculatedLifecycle
	oAggregatedScanResult
	oFindings
	oOptIn
	oFailedScan
	oIsEncrypted
	oIsParent
)

const maxDepth = 64

type span struct{ off, end int32 }

// rpScratch collects one recovery point while its object is read.
type rpScratch struct {
	strSet  uint32
	timeSet uint8
	intSet  uint8
	objSet  uint16

	isEncrypted, isParent, optIn, failedScan bool

	str   [nStr]span
	times [nTime]time.Time
	ints  [nInt]int64
	finds []span
}

// rpBlock is the storage behind one output RP's pointer fields.
type rpBlock struct {
	str        [nPtrStr]string
	times      [nTime]time.Time
	ints       [nInt]int64
	optIn      bool
	failedScan bool
	createdBy  types.RecoveryPointCreator
	lifecycle  types.Lifecycle
	calculated types.CalculatedLifecycle
	aggregated types.AggregatedScanResult
}

type pageDecoder struct {
	b    []byte
	i    int
	text []byte // the current RP's string values, back to back
	rp   rpScratch
}

// decode reads body into o and reports whether it could.
func (d *pageDecoder) decode(body []byte, o *backup.ListRecoveryPointsByBackupVaultOutput) bool {
	d.b, d.i = body, 0
	defer func() { d.b = nil }()
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "NextToken":
			return o.NextToken == nil && d.nextToken(o)
		case "RecoveryPoints":
			return o.RecoveryPoints == nil && d.rps(o)
		}
		return d.skip(1)
	}) && d.end()
}

func (d *pageDecoder) nextToken(o *backup.ListRecoveryPointsByBackupVaultOutput) bool {
	d.text = d.text[:0]
	sp, ok := d.str()
	if ok {
		s := string(d.text[sp.off:sp.end])
		o.NextToken = &s
	}
	return ok
}

func (d *pageDecoder) rps(o *backup.ListRecoveryPointsByBackupVaultOutput) bool {
	if !d.byte('[') {
		return false
	}
	// The SDK gives an empty, non-nil list for [].
	list := make([]types.RecoveryPointByBackupVault, 0, min(len(d.b)/512+1, 1024))
	if d.peekByte(']') {
		d.i++
		o.RecoveryPoints = list
		return true
	}
	for {
		list = append(list, types.RecoveryPointByBackupVault{})
		if !d.recoveryPoint(&list[len(list)-1]) {
			return false
		}
		more, ok := d.next(']')
		if !ok {
			return false
		}
		if !more {
			o.RecoveryPoints = list
			return true
		}
	}
}

// recoveryPoint reads one RecoveryPointByBackupVault object into out.
func (d *pageDecoder) recoveryPoint(out *types.RecoveryPointByBackupVault) bool {
	d.text = d.text[:0]
	r := &d.rp
	r.strSet, r.timeSet, r.intSet, r.objSet = 0, 0, 0, 0
	r.isEncrypted, r.isParent = false, false
	r.finds = r.finds[:0]
	ok := d.object(func(key []byte) bool {
		switch string(key) {
		case "AggregatedScanResult":
			return d.aggregated()
		case "BackupSizeInBytes":
			return d.int(iBackupSizeInBytes)
		case "BackupVaultArn":
			return d.strField(sBackupVaultArn)
		case "BackupVaultName":
			return d.strField(sBackupVaultName)
		case "CalculatedLifecycle":
			return d.calculated()
		case "CompletionDate":
			return d.time(tCompletionDate)
		case "CompositeMemberIdentifier":
			return d.strField(sCompositeMemberIdentifier)
		case "CreatedBy":
			return d.createdBy()
		case "CreationDate":
			return d.time(tCreationDate)
		case "EncryptionKeyArn":
			return d.strField(sEncryptionKeyArn)
		case "EncryptionKeyType":
			return d.strField(sEncryptionKeyType)
		case "IamRoleArn":
			return d.strField(sIamRoleArn)
		case "IndexStatus":
			return d.strField(sIndexStatus)
		case "IndexStatusMessage":
			return d.strField(sIndexStatusMessage)
		case "InitiationDate":
			return d.time(tInitiationDate)
		case "IsEncrypted":
			return d.bool(oIsEncrypted, &r.isEncrypted)
		case "IsParent":
			return d.bool(oIsParent, &r.isParent)
		case "LastRestoreTime":
			return d.time(tLastRestoreTime)
		case "Lifecycle":
			return d.lifecycle()
		case "ParentRecoveryPointArn":
			return d.strField(sParentRecoveryPointArn)
		case "RecoveryPointArn":
			return d.strField(sRecoveryPointArn)
		case "ResourceArn":
			return d.strField(sResourceArn)
		case "ResourceName":
			return d.strField(sResourceName)
		case "ResourceType":
			return d.strField(sResourceType)
		case "SourceBackupVaultArn":
			return d.strField(sSourceBackupVaultArn)
		case "Status":
			return d.strField(sStatus)
		case "StatusMessage":
			return d.strField(sStatusMessage)
		case "VaultType":
			return d.strField(sVaultType)
		}
		return d.skip(3)
	})
	if ok {
		d.finish(out)
	}
	return ok
}

// object reads a JSON object. member reads the value of the member
// named key (or skips it), and reports false for a value it cannot
// take, or one it already has: a member given twice is left to the SDK.
func (d *pageDecoder) object(member func(key []byte) bool) bool {
	if !d.byte('{') {
		return false
	}
	if d.peekByte('}') {
		d.i++
		return true
	}
	for {
		key, ok := d.key()
		if !ok || !member(key) {
			return false
		}
		more, ok := d.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// first marks a nested structure or boolean present, and reports false
// if it already was.
func (d *pageDecoder) first(bit uint16) bool {
	if d.rp.objSet&bit != 0 {
		return false
	}
	d.rp.objSet |= bit
	return true
}

func (d *pageDecoder) createdBy() bool {
	return d.first(oCreatedBy) && d.object(func(key []byte) bool {
		switch string(key) {
		case "BackupPlanArn":
			return d.strField(sPlanArn)
		case "BackupPlanId":
			return d.strField(sPlanID)
		case "BackupPlanName":
			return d.strField(sPlanName)
		case "BackupPlanVersion":
			return d.strField(sPlanVersion)
		case "BackupRuleCron":
			return d.strField(sRuleCron)
		case "BackupRuleId":
			return d.strField(sRuleID)
		case "BackupRuleName":
			return d.strField(sRuleName)
		case "BackupRuleTimezone":
			return d.strField(sRuleTimezone)
		}
		return d.skip(4)
	})
}

func (d *pageDecoder) lifecycle() bool {
	return d.first(oLifecycle) && d.object(func(key []byte) bool {
		switch string(key) {
		case "DeleteAfterDays":
			return d.int(iDeleteAfterDays)
		case "DeleteAfterEvent":
			return d.strField(sDeleteAfterEvent)
		case "MoveToColdStorageAfterDays":
			return d.int(iMoveToColdStorageAfterDays)
		case "OptInToArchiveForSupportedResources":
			return d.bool(oOptIn, &d.rp.optIn)
		}
		return d.skip(4)
	})
}

func (d *pageDecoder) calculated() bool {
	return d.first(oCalculatedLifecycle) && d.object(func(key []byte) bool {
		switch string(key) {
		case "DeleteAt":
			return d.time(tDeleteAt)
		case "MoveToColdStorageAt":
			return d.time(tMoveToColdStorageAt)
		}
		return d.skip(4)
	})
}

func (d *pageDecoder) aggregated() bool {
	return d.first(oAggregatedScanResult) && d.object(func(key []byte) bool {
		switch string(key) {
		case "FailedScan":
			return d.bool(oFailedScan, &d.rp.failedScan)
		case "Findings":
			return d.findings()
		case "LastComputed":
			return d.time(tLastComputed)
		}
		return d.skip(4)
	})
}

func (d *pageDecoder) findings() bool {
	if !d.first(oFindings) || !d.byte('[') {
		return false
	}
	if d.peekByte(']') {
		d.i++
		return true
	}
	for {
		sp, ok := d.str()
		if !ok {
			return false
		}
		d.rp.finds = append(d.rp.finds, sp)
		more, ok := d.next(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// --- members ---------------------------------------------------------

func (d *pageDecoder) strField(k int) bool {
	if d.rp.strSet&(1<<k) != 0 {
		return false
	}
	sp, ok := d.str()
	if !ok {
		return false
	}
	d.rp.str[k] = sp
	d.rp.strSet |= 1 << k
	return true
}

func (d *pageDecoder) int(k int) bool {
	if d.rp.intSet&(1<<k) != 0 {
		return false
	}
	tok, ok := d.number()
	if !ok {
		return false
	}
	n, ok := parseInt(tok)
	if !ok {
		return false
	}
	d.rp.ints[k] = n
	d.rp.intSet |= 1 << k
	return true
}

func (d *pageDecoder) time(k int) bool {
	if d.rp.timeSet&(1<<k) != 0 {
		return false
	}
	tok, ok := d.number()
	if !ok {
		return false
	}
	var f float64
	if n, ok := parseInt(tok); ok {
		f = float64(n)
	} else {
		var err error
		if f, err = strconv.ParseFloat(string(tok), 64); err != nil {
			return false
		}
	}
	d.rp.times[k] = epochSeconds(f)
	d.rp.timeSet |= 1 << k
	return true
}

// epochSeconds is smithytime.ParseEpochSeconds without its big.Float
// allocations. That function multiplies by 1e3 at 53 bits of precision,
// rounding to nearest even, and truncates to an integer, which is what
// float64 multiplication and conversion do for any value whose
// millisecond count fits comfortably in an int64; other values go to
// the SDK's function.
func epochSeconds(f float64) time.Time {
	if !(f > -1e15 && f < 1e15) {
		return smithytime.ParseEpochSeconds(f)
	}
	return time.Unix(0, int64(f*1e3)*1e6).UTC()
}

// bool reads a boolean into v, marking it present with bit.
func (d *pageDecoder) bool(bit uint16, v *bool) bool {
	if !d.first(bit) {
		return false
	}
	switch {
	case d.lit("true"):
		*v = true
	case d.lit("false"):
		*v = false
	default:
		return false
	}
	return true
}

// parseInt is the SDK decoder's integer rule: an optional minus sign and
// decimal digits only, within int64.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' || n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxInt64+1 || (!neg && n > math.MaxInt64) {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}
