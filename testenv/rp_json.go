package testenv

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Listing pages are most of what a million-RP emulator serializes, and
// encoding/json (reflection, plus a MarshalJSON call and a compaction
// pass for each of three timestamps per RP) took 5.6 of the emulator's
// 13 CPU-seconds during a cold plan, CPU that the benchmark's shuffle on
// the same two cores goes without. appendJSON writes the same bytes by
// hand into a recycled buffer; rp_json_test.go compares the two byte for
// byte on varied input.

// jsonAppender is a reply value that writes its own JSON (call.reply).
type jsonAppender interface{ appendJSON(b []byte) []byte }

// replyBuffers recycles the buffers of appended replies (a listing page
// is about a megabyte).
var replyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// rpPage is a ListRecoveryPointsByBackupVault reply.
type rpPage struct {
	RecoveryPoints []rpOut `json:"RecoveryPoints"`
	NextToken      string  `json:"NextToken,omitempty"`
	// nulls writes absent members as null and times in exponent
	// notation (the nulls variant).
	nulls bool
}

func (p *rpPage) appendJSON(b []byte) []byte {
	b = append(b, `{"RecoveryPoints":`...)
	if p.RecoveryPoints == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.RecoveryPoints {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.RecoveryPoints[i].appendJSON(b, p.nulls)
		}
		b = append(b, ']')
	}
	b = appendNullableStr(b, "NextToken", p.NextToken, p.nulls)
	return append(b, '}')
}

func (o *rpOut) appendJSON(b []byte, nulls bool) []byte {
	b = append(b, `{"RecoveryPointArn":`...)
	b = appendJSONString(b, o.RecoveryPointArn)
	b = appendStrMember(b, "BackupVaultName", o.BackupVaultName, false)
	b = appendStrMember(b, "BackupVaultArn", o.BackupVaultArn, false)
	b = appendNullableStr(b, "SourceBackupVaultArn", o.SourceBackupVaultArn, nulls)
	b = appendStrMember(b, "ResourceArn", o.ResourceArn, false)
	b = appendStrMember(b, "ResourceType", o.ResourceType, false)
	b = appendNullableStr(b, "ResourceName", o.ResourceName, nulls)
	if o.CreatedBy != nil {
		b = append(b, `,"CreatedBy":{`...)
		if o.CreatedBy.BackupPlanId != "" {
			b = append(b, `"BackupPlanId":`...)
			b = appendJSONString(b, o.CreatedBy.BackupPlanId)
		}
		b = append(b, '}')
	} else if nulls {
		b = append(b, `,"CreatedBy":null`...)
	}
	b = appendNullableStr(b, "IamRoleArn", o.IamRoleArn, nulls)
	b = appendStrMember(b, "Status", o.Status, false)
	b = appendNullableStr(b, "StatusMessage", o.StatusMessage, nulls)
	b = appendDate(b, "CreationDate", o.CreationDate, nulls)
	b = appendDate(b, "InitiationDate", o.InitiationDate, nulls)
	b = appendDate(b, "CompletionDate", o.CompletionDate, nulls)
	b = append(b, `,"BackupSizeInBytes":`...)
	b = strconv.AppendInt(b, o.BackupSizeInBytes, 10)
	if cl := o.CalculatedLifecycle; cl != nil {
		b = cl.appendJSON(append(b, `,"CalculatedLifecycle":`...))
	}
	if lc := o.Lifecycle; lc != nil {
		b = appendLifecycle(append(b, `,"Lifecycle":`...), lc)
	}
	b = appendNullableStr(b, "EncryptionKeyArn", o.EncryptionKeyArn, nulls)
	b = appendNullableStr(b, "EncryptionKeyType", o.EncryptionKeyType, nulls)
	b = appendBoolMember(b, "IsEncrypted", o.IsEncrypted)
	b = appendNullableStr(b, "ParentRecoveryPointArn", o.ParentRecoveryPointArn, nulls)
	b = appendBoolMember(b, "IsParent", o.IsParent)
	b = appendNullableStr(b, "VaultType", o.VaultType, nulls)
	b = appendNullableStr(b, "StorageClass", o.StorageClass, nulls)
	return append(b, '}')
}

// appendMemberName appends `,"name":`.
func appendMemberName(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendStrMember appends a string member (none when omitEmpty and v is "").
func appendStrMember(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	return appendJSONString(appendMemberName(b, name), v)
}

func appendBoolMember(b []byte, name string, v bool) []byte {
	return strconv.AppendBool(appendMemberName(b, name), v)
}

func (cl *calculatedLifecycle) appendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := false
	if cl.DeleteAt != nil {
		b = append(b, `"DeleteAt":`...)
		b = appendEpoch(b, cl.DeleteAt)
		sep = true
	}
	if cl.MoveToColdStorageAt != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"MoveToColdStorageAt":`...)
		b = appendEpoch(b, cl.MoveToColdStorageAt)
	}
	return append(b, '}')
}

func appendLifecycle(b []byte, lc *Lifecycle) []byte {
	b = append(b, '{')
	sep := false
	if lc.MoveToColdStorageAfterDays != nil {
		b = append(b, `"MoveToColdStorageAfterDays":`...)
		b = strconv.AppendInt(b, *lc.MoveToColdStorageAfterDays, 10)
		sep = true
	}
	if lc.DeleteAfterDays != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"DeleteAfterDays":`...)
		b = strconv.AppendInt(b, *lc.DeleteAfterDays, 10)
	}
	return append(b, '}')
}

// appendEpoch writes e as epoch.MarshalJSON does.
func appendEpoch(b []byte, e *epoch) []byte {
	return strconv.AppendFloat(b, float64(time.Time(*e).UnixMilli())/1000, 'f', -1, 64)
}

// appendJSONString writes s as an encoding/json Encoder with HTML
// escaping off does: '"', '\\' and control characters escaped (\b, \f,
// \n, \r and \t by name), U+2028 and U+2029 as \u escapes, invalid
// UTF-8 as \ufffd, anything else as is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
