package awsclient

import (
	"bytes"
	"encoding/json"
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

// finish builds the output RP from the scratch: one string for all the
// text and one block for what the pointer fields point at.
func (d *pageDecoder) finish(out *types.RecoveryPointByBackupVault) {
	r := &d.rp
	text := string(d.text)
	sub := func(sp span) string { return text[sp.off:sp.end] }
	blk := new(rpBlock)
	str := func(k int) *string {
		if r.strSet&(1<<k) == 0 {
			return nil
		}
		blk.str[k] = sub(r.str[k])
		return &blk.str[k]
	}
	enum := func(k int) string {
		if r.strSet&(1<<k) == 0 {
			return ""
		}
		return sub(r.str[k])
	}
	tm := func(k int) *time.Time {
		if r.timeSet&(1<<k) == 0 {
			return nil
		}
		blk.times[k] = r.times[k]
		return &blk.times[k]
	}
	num := func(k int) *int64 {
		if r.intSet&(1<<k) == 0 {
			return nil
		}
		blk.ints[k] = r.ints[k]
		return &blk.ints[k]
	}
	*out = types.RecoveryPointByBackupVault{
		BackupSizeInBytes:         num(iBackupSizeInBytes),
		BackupVaultArn:            str(sBackupVaultArn),
		BackupVaultName:           str(sBackupVaultName),
		CompletionDate:            tm(tCompletionDate),
		CompositeMemberIdentifier: str(sCompositeMemberIdentifier),
		CreationDate:              tm(tCreationDate),
		EncryptionKeyArn:          str(sEncryptionKeyArn),
		EncryptionKeyType:         types.EncryptionKeyType(enum(sEncryptionKeyType)),
		IamRoleArn:                str(sIamRoleArn),
		IndexStatus:               types.IndexStatus(enum(sIndexStatus)),
		IndexStatusMessage:        str(sIndexStatusMessage),
		InitiationDate:            tm(tInitiationDate),
		IsEncrypted:               r.isEncrypted,
		IsParent:                  r.isParent,
		LastRestoreTime:           tm(tLastRestoreTime),
		ParentRecoveryPointArn:    str(sParentRecoveryPointArn),
		RecoveryPointArn:          str(sRecoveryPointArn),
		ResourceArn:               str(sResourceArn),
		ResourceName:              str(sResourceName),
		ResourceType:              str(sResourceType),
		SourceBackupVaultArn:      str(sSourceBackupVaultArn),
		Status:                    types.RecoveryPointStatus(enum(sStatus)),
		StatusMessage:             str(sStatusMessage),
		VaultType:                 types.VaultType(enum(sVaultType)),
	}
	if r.objSet&oCreatedBy != 0 {
		blk.createdBy = types.RecoveryPointCreator{
			BackupPlanArn: str(sPlanArn), BackupPlanId: str(sPlanID), BackupPlanName: str(sPlanName),
			BackupPlanVersion: str(sPlanVersion), BackupRuleCron: str(sRuleCron), BackupRuleId: str(sRuleID),
			BackupRuleName: str(sRuleName), BackupRuleTimezone: str(sRuleTimezone),
		}
		out.CreatedBy = &blk.createdBy
	}
	if r.objSet&oLifecycle != 0 {
		blk.lifecycle = types.Lifecycle{
			DeleteAfterDays:            num(iDeleteAfterDays),
			DeleteAfterEvent:           types.LifecycleDeleteAfterEvent(enum(sDeleteAfterEvent)),
			MoveToColdStorageAfterDays: num(iMoveToColdStorageAfterDays),
		}
		if r.objSet&oOptIn != 0 {
			blk.optIn = r.optIn
			blk.lifecycle.OptInToArchiveForSupportedResources = &blk.optIn
		}
		out.Lifecycle = &blk.lifecycle
	}
	if r.objSet&oCalculatedLifecycle != 0 {
		blk.calculated = types.CalculatedLifecycle{DeleteAt: tm(tDeleteAt), MoveToColdStorageAt: tm(tMoveToColdStorageAt)}
		out.CalculatedLifecycle = &blk.calculated
	}
	if r.objSet&oAggregatedScanResult != 0 {
		blk.aggregated = types.AggregatedScanResult{LastComputed: tm(tLastComputed)}
		if r.objSet&oFailedScan != 0 {
			blk.failedScan = r.failedScan
			blk.aggregated.FailedScan = &blk.failedScan
		}
		if r.objSet&oFindings != 0 {
			f := make([]types.ScanFinding, len(r.finds))
			for i, sp := range r.finds {
				f[i] = types.ScanFinding(sub(sp))
			}
			blk.aggregated.Findings = f
		}
		out.AggregatedScanResult = &blk.aggregated
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

// --- tokens ----------------------------------------------------------

func (d *pageDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte skips white space and one c.
func (d *pageDecoder) byte(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peekByte skips white space and reports whether c is next.
func (d *pageDecoder) peekByte(c byte) bool {
	d.ws()
	return d.i < len(d.b) && d.b[d.i] == c
}

// next reads the separator after a member or element: a comma (more
// follow) or the closing byte.
func (d *pageDecoder) next(closing byte) (more, ok bool) {
	d.ws()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, true
	case closing:
		d.i++
		return false, true
	}
	return false, false
}

// end accepts only white space after the top-level object.
func (d *pageDecoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// key reads a member name and its colon. Names with escapes are left
// to the SDK.
func (d *pageDecoder) key() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	n := bytes.IndexByte(d.b[d.i:], '"')
	if n < 0 || !plain(d.b[d.i:d.i+n]) {
		return nil, false
	}
	k := d.b[d.i : d.i+n]
	d.i += n + 1
	return k, d.byte(':')
}

// str reads a string value onto d.text and returns where it lies
// there. Unescaped bytes are copied as they are, as the SDK does; a
// string with escapes is unquoted by encoding/json, whose rules the
// SDK's decoder copies (invalid UTF-8 and lone surrogates become
// U+FFFD).
func (d *pageDecoder) str() (span, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return span{}, false
	}
	start := d.i
	d.i++
	// The common case: no escape up to the closing quote.
	if n := bytes.IndexByte(d.b[d.i:], '"'); n >= 0 {
		seg := d.b[d.i : d.i+n]
		if plain(seg) {
			d.i += n + 1
			off := len(d.text)
			d.text = append(d.text, seg...)
			return d.span(off)
		}
	}
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			var s string
			if json.Unmarshal(d.b[start:d.i], &s) != nil {
				return span{}, false
			}
			off := len(d.text)
			d.text = append(d.text, s...)
			return d.span(off)
		case c < 0x20:
			return span{}, false
		case c == '\\':
			if !d.escape() {
				return span{}, false
			}
			continue
		}
		d.i++
	}
	return span{}, false
}

// plain reports whether seg holds neither a backslash nor a control
// character.
func plain(seg []byte) bool {
	for _, c := range seg {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

func (d *pageDecoder) span(off int) (span, bool) {
	if len(d.text) > math.MaxInt32 {
		return span{}, false
	}
	return span{int32(off), int32(len(d.text))}, true
}

// escape checks one escape sequence at d.i (the backslash) and steps
// over it.
func (d *pageDecoder) escape() bool {
	if d.i+1 >= len(d.b) {
		return false
	}
	switch d.b[d.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.i += 2
		return true
	case 'u':
		if d.i+6 > len(d.b) {
			return false
		}
		for _, c := range d.b[d.i+2 : d.i+6] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
		d.i += 6
		return true
	}
	return false
}

// number reads a JSON number token.
func (d *pageDecoder) number() ([]byte, bool) {
	d.ws()
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == digits || (b[digits] == '0' && i-digits > 1) {
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		digits = i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		digits = i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits {
			return nil, false
		}
	}
	d.i = i
	return b[start:i], true
}

func (d *pageDecoder) lit(s string) bool {
	d.ws()
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// skip steps over one value of a member the SDK does not know.
func (d *pageDecoder) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		mark := len(d.text)
		_, ok := d.str()
		d.text = d.text[:mark]
		return ok
	case c == '{':
		d.i++
		if d.peekByte('}') {
			d.i++
			return true
		}
		for {
			if _, ok := d.key(); !ok || !d.skip(depth+1) {
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
	case c == '[':
		d.i++
		if d.peekByte(']') {
			d.i++
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			more, ok := d.next(']')
			if !ok {
				return false
			}
			if !more {
				return true
			}
		}
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	}
	_, ok := d.number()
	return ok
}
