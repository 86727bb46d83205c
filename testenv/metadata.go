package testenv

// metadata.csv: the resource inventory an operator keeps by hand and
// joins to the recovery points by ResourceArn.
//
// The file is UTF-8 with a BOM and CRLF line endings, as a spreadsheet
// exports it. Header: ResourceArn,APMID,Application,Owner,Environment,
// CostCenter,Notes,DataClassification (the last column is one the tool
// does not know). Most source resources have one row with an APMID from
// seedApps. The defects a joiner must cope with:
//   - resources with RPs but no row (~3%);
//   - rows whose APMID is empty (~2%) and rows whose APMID is only
//     blanks (~1%);
//   - rows for resources that have no RPs (made-up ARNs, ~1%, at least 3);
//   - duplicate rows that agree (identical) and duplicates that conflict
//     (another APMID), ~0.5% each;
//   - Notes with commas and doubled quotes, owners with non-ASCII names.
//
// From 8 resources on, every defect appears at least once.

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strconv"
)

// metadataHeader is the CSV header row.
var metadataHeader = []string{"ResourceArn", "APMID", "Application", "Owner", "Environment", "CostCenter", "Notes", "DataClassification"}

// utf8BOM starts metadata.csv.
const utf8BOM = "\xef\xbb\xbf"

var metadataNotes = []string{
	`Owned by payments, "tier 1"`,
	"Migrated from on-prem, see CHG0012345",
	"DR critical; RPO 24h, RTO 4h",
	`Keep 7 years (SOX), ask "finance-it" before deleting`,
	"Decommission planned, keep backups until audit closes",
}

func classification(app int) string {
	switch seedApps[app].slug {
	case "payments", "ledger", "hr":
		return "Restricted"
	case "portal", "orders":
		return "Confidential"
	default:
		return "Internal"
	}
}

// Row kinds.
const (
	rowValid = iota
	rowNone
	rowEmptyAPMID
	rowBlankAPMID
)

// buildMetadata returns metadata.csv for the source resources res.
func buildMetadata(r *rand.Rand, res []*seedResource, region string) []byte {
	var m metadataRows
	m.addResources(r, res)
	// Resources that have no recovery points: decommissioned or never
	// assigned to a backup plan.
	ghosts := max(3, len(res)/100)
	for i := range ghosts {
		app := r.IntN(len(seedApps))
		m.add(ghostArn(r, region, seedTypes[i%len(seedTypes)], seedApps[app].slug, i), app, "prod", seedApps[app].apmid)
	}
	rows := m.rows
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return writeMetadataCSV(rows)
}

// metadataRows collects the CSV's rows; every 25th has a note and every
// 17th no data classification.
type metadataRows struct {
	rows  [][]string
	notes int
}

func (m *metadataRows) row(arn string, app int, env, apmid string) []string {
	a := seedApps[app]
	note := ""
	if m.notes%25 == 0 {
		note = metadataNotes[(m.notes/25)%len(metadataNotes)]
	}
	m.notes++
	dc := classification(app)
	if m.notes%17 == 0 {
		dc = ""
	}
	return []string{arn, apmid, a.name, a.owner, env, a.costCenter, note, dc}
}

func (m *metadataRows) add(arn string, app int, env, apmid string) {
	m.rows = append(m.rows, m.row(arn, app, env, apmid))
}

// addResources adds the rows of the resources that have recovery
// points: most valid, some missing or with an empty or blank APMID, some
// duplicated (agreeing or not). Worlds of 8 resources or more have one
// of each for certain.
func (m *metadataRows) addResources(r *rand.Rand, res []*seedResource) {
	forced := len(res) >= 8
	for i, x := range res {
		kind := rowValid
		switch u := r.IntN(1000); {
		case u < 30:
			kind = rowNone
		case u < 50:
			kind = rowEmptyAPMID
		case u < 60:
			kind = rowBlankAPMID
		}
		dup := r.IntN(1000)
		if forced {
			switch i {
			case 1:
				kind = rowNone
			case 2:
				kind = rowEmptyAPMID
			case 3:
				kind = rowBlankAPMID
			case 4:
				kind, dup = rowValid, 0 // agreeing duplicate
			case 5:
				kind, dup = rowValid, 5 // conflicting duplicate
			case 6, 7:
				kind, dup = rowValid, 999
			}
		}
		switch kind {
		case rowNone:
			continue
		case rowEmptyAPMID:
			m.add(x.arn, x.app, x.env, "")
			continue
		case rowBlankAPMID:
			m.add(x.arn, x.app, x.env, "  ")
			continue
		}
		rw := m.row(x.arn, x.app, x.env, seedApps[x.app].apmid)
		m.rows = append(m.rows, rw)
		switch {
		case dup < 5:
			m.rows = append(m.rows, append([]string(nil), rw...))
		case dup < 10:
			other := append([]string(nil), rw...)
			other[1] = seedApps[(x.app+1+r.IntN(len(seedApps)-1))%len(seedApps)].apmid
			m.rows = append(m.rows, other)
		}
	}
}

// ghostArn is the ARN of the i-th resource of type typ that has no
// recovery points.
func ghostArn(r *rand.Rand, region, typ, slug string, i int) string {
	var b []byte
	hex := func(n int) {
		for range n {
			b = append(b, hexDigits[r.IntN(16)])
		}
	}
	num := strconv.Itoa(900000 + i)
	acctRegion := region + ":" + SourceAccount + ":"
	switch typ {
	case TypeEC2:
		b = append(b, "arn:aws:ec2:"+acctRegion+"instance/i-"...)
		hex(17)
	case TypeEBS:
		b = append(b, "arn:aws:ec2:"+acctRegion+"volume/vol-"...)
		hex(17)
	case TypeRDS:
		b = append(b, "arn:aws:rds:"+acctRegion+"db:old-"+slug+"-db-"+num...)
	case TypeAurora:
		b = append(b, "arn:aws:rds:"+acctRegion+"cluster:old-"+slug+"-aurora-"+num...)
	case TypeS3:
		b = append(b, "arn:aws:s3:::acme-archive-"+slug+"-"+num...)
	case TypeEFS:
		b = append(b, "arn:aws:elasticfilesystem:"+acctRegion+"file-system/fs-"...)
		hex(17)
	case TypeDynamoDB:
		b = append(b, "arn:aws:dynamodb:"+acctRegion+"table/old-"+slug+"-table-"+num...)
	case TypeFSx:
		b = append(b, "arn:aws:fsx:"+acctRegion+"file-system/fs-"...)
		hex(17)
	case TypeRedshift:
		b = append(b, "arn:aws:redshift:"+acctRegion+"cluster:old-"+slug+"-dw-"+num...)
	}
	return string(b)
}

// writeMetadataCSV renders the header and rows as metadata.csv: a UTF-8
// BOM, then CSV with CRLF line endings.
func writeMetadataCSV(rows [][]string) []byte {
	var buf bytes.Buffer
	buf.Grow(len(rows)*160 + 128)
	buf.WriteString(utf8BOM)
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	// Writing to a bytes.Buffer cannot fail.
	_ = w.Write(metadataHeader)
	_ = w.WriteAll(rows)
	return buf.Bytes()
}
