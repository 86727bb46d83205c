package testenv

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The seeded world's resources and recovery points, and the coverage of
// every status in small worlds.

// quotas spreads n RPs over the vaults by weight. From 2 per vault on,
// every vault gets at least 2; no vault gets exactly 1 unless n is 1.
func (g *seedGen) quotas(n int) {
	vs := g.vaults
	base := 0
	if n >= 2*len(vs) {
		base = 2
	}
	rem := n - base*len(vs)
	wsum := 0
	for _, sv := range vs {
		wsum += sv.weight
	}
	used := 0
	for _, sv := range vs {
		sv.quota = base + rem*sv.weight/wsum
		used += sv.quota
	}
	vs[0].quota += n - used
	for _, sv := range vs[1:] {
		if sv.quota == 1 {
			sv.quota = 0
			vs[0].quota++
		}
	}
}

func (g *seedGen) seedRecoveryPoints(n int) {
	g.quotas(n)
	a := g.w.accounts[SourceAccount]
	if len(a.rpIndex) == 0 && n > 0 {
		a.rpIndex = make(map[string]*RecoveryPoint, n)
	}
	for vi, sv := range g.vaults {
		if sv.quota == 0 {
			continue
		}
		sv.v.rps = make([]*RecoveryPoint, 0, sv.quota)
		left := sv.quota
		for j := 0; left > 0; j++ {
			k := 2 + g.r.IntN(11)
			if k > left {
				k = left
			}
			if left-k == 1 {
				if k > 2 {
					k--
				} else {
					k++
				}
			}
			left -= k
			var typ string
			if j == 0 {
				typ = sv.types[0].v
			} else {
				typ = pick(g.r, sv.types)
			}
			res := g.resourceFor(vi, sv, typ)
			g.addResourceRPs(vi, sv, res, k)
		}
	}
}

func typeIndex(t string) int {
	for i, s := range seedTypes {
		if s == t {
			return i
		}
	}
	panic("testenv: unknown resource type " + t)
}

// resourceFor returns a new resource of type typ, or with chance
// sv.reuse one already backed up into an earlier vault.
func (g *seedGen) resourceFor(vi int, sv *seedVault, typ string) *seedResource {
	ti := typeIndex(typ)
	if sv.reuse > 0 && len(g.pool[ti]) > 0 && g.r.Float64() < sv.reuse {
		res := g.pool[ti][g.r.IntN(len(g.pool[ti]))]
		if res.lastVault != vi {
			res.lastVault = vi
			return res
		}
	}
	app := sv.app
	if app < 0 {
		app = g.r.IntN(len(seedApps))
	}
	res := &seedResource{typ: typ, env: sv.env, app: app, lastVault: vi}
	g.counter[ti]++
	g.nameResource(res, g.counter[ti])
	lo, hi := sizeRange(typ)
	res.size = logUniform(g.r, lo, hi)
	if !Types[typ].FullyManaged {
		g.nonFM++
		aws := typ != TypeRedshift && (g.nonFM == 4 || g.r.Float64() < 0.07)
		res.keyType = "CUSTOMER_MANAGED_KMS_KEY"
		switch typ {
		case TypeEBS, TypeEC2:
			res.keyArn = g.keys.ebs
			if aws {
				res.keyArn = g.keys.awsEBS
			}
		case TypeRDS, TypeAurora:
			res.keyArn = g.keys.rds
			if aws {
				res.keyArn = g.keys.awsRDS
			}
		case TypeFSx:
			res.keyArn = g.keys.fsx
			if aws {
				res.keyArn = g.keys.awsFSx
			}
		case TypeRedshift:
			res.keyArn = g.keys.redshift
		}
		if aws {
			res.keyType = ""
		}
	}
	g.pool[ti] = append(g.pool[ti], res)
	g.res = append(g.res, res)
	return res
}

// nameResource sets the resource's name and ARN.
func (g *seedGen) nameResource(res *seedResource, n int) {
	app := seedApps[res.app].slug
	num := strconv.Itoa(n)
	if len(num) < 4 {
		num = strings.Repeat("0", 4-len(num)) + num
	}
	acctRegion := g.region + ":" + SourceAccount + ":"
	b := g.buf[:0]
	switch res.typ {
	case TypeEBS:
		res.name = res.env + "-" + app + "-vol-" + num
		b = append(b, "arn:aws:ec2:"+acctRegion+"volume/vol-"...)
		b = g.hex(b, 17)
	case TypeEC2:
		res.name = res.env + "-" + app + "-app-" + num
		b = append(b, "arn:aws:ec2:"+acctRegion+"instance/i-"...)
		b = g.hex(b, 17)
	case TypeRDS:
		res.name = res.env + "-" + app + "-db-" + num
		b = append(b, "arn:aws:rds:"+acctRegion+"db:"+res.name...)
	case TypeAurora:
		res.name = res.env + "-" + app + "-aurora-" + num
		b = append(b, "arn:aws:rds:"+acctRegion+"cluster:"+res.name...)
	case TypeS3:
		res.name = "acme-" + res.env + "-" + app + "-data-" + num
		b = append(b, "arn:aws:s3:::"+res.name...)
	case TypeEFS:
		res.name = res.env + "-" + app + "-shared-" + num
		b = append(b, "arn:aws:elasticfilesystem:"+acctRegion+"file-system/fs-"...)
		b = g.hex(b, 17)
	case TypeDynamoDB:
		res.name = res.env + "-" + app + "-table-" + num
		b = append(b, "arn:aws:dynamodb:"+acctRegion+"table/"+res.name...)
	case TypeFSx:
		res.name = res.env + "-" + app + "-fsx-" + num
		b = append(b, "arn:aws:fsx:"+acctRegion+"file-system/fs-"...)
		b = g.hex(b, 17)
	case TypeRedshift:
		res.name = res.env + "-" + app + "-dw-" + num
		b = append(b, "arn:aws:redshift:"+acctRegion+"cluster:"+res.name...)
	}
	res.arn = string(b)
	g.buf = b
}

// sizeRange is the resource size range of a type, in bytes.
func sizeRange(t string) (lo, hi float64) {
	const gib, tib = 1 << 30, 1 << 40
	switch t {
	case TypeEBS:
		return 8 * gib, 2 * tib
	case TypeEC2:
		return 8 * gib, 1 * tib
	case TypeRDS:
		return 5 * gib, 4 * tib
	case TypeAurora:
		return 10 * gib, 8 * tib
	case TypeS3:
		return 1 * gib, 20 * tib
	case TypeEFS:
		return 0.1 * gib, 5 * tib
	case TypeDynamoDB:
		return 0.01 * gib, 500 * gib
	case TypeFSx:
		return 32 * gib, 10 * tib
	default: // Redshift
		return 50 * gib, 10 * tib
	}
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

type rpDraft struct {
	t      int64
	status string
}

const day = 86400

// addResourceRPs adds k RPs of res to vault sv.
func (g *seedGen) addResourceRPs(vi int, sv *seedVault, res *seedResource, k int) {
	r := g.r
	plan := pick(r, sv.plans)
	res.rps += k
	keyArn, keyType := res.keyArn, res.keyType
	if Types[res.typ].FullyManaged {
		keyArn, keyType = sv.v.EncryptionKeyArn, sv.v.EncryptionKeyType
	}
	cold := int64(0)
	if coldCapable(res.typ) {
		cold = plan.cold
	}
	if sv.continuous && (res.typ == TypeRDS || res.typ == TypeS3) && (!sv.hadCont || r.Float64() < 0.3) {
		sv.hadCont = true
		g.addContinuous(sv, res, plan, keyArn, keyType)
		k--
	}

	drafts := g.draftRPs(plan, k)
	for i := 0; i < k; i++ {
		rp := g.newRP(sv, res, plan, keyArn, keyType)
		dr := drafts[i]
		rp.Status = dr.status
		switch dr.status {
		case statusPartial:
			rp.StatusMessage = msgPartial
		case statusExpired:
			rp.StatusMessage = msgExpired
		}
		size := res.size * (0.85 + 0.3*r.Float64())
		if dr.status == statusPartial {
			size *= 0.7
		}
		rp.BackupSizeInBytes = int64(size)
		rp.CreationDate = time.Unix(dr.t, 0).UTC()
		rp.CompletionDate = time.Unix(dr.t+g.duration(size), 0).UTC()
		if plan.del > 0 {
			rp.Lifecycle.DeleteAfterDays = g.int64p(plan.del)
		}
		if cold > 0 {
			rp.Lifecycle.MoveToColdStorageAfterDays = g.int64p(cold)
			rp.Cold = dr.t+cold*day < g.now
		}
		rp.Arn = g.rpArn(res)
		g.w.addRP(rp)
	}
}

// draftRPs draws the creation times and statuses of k backups on plan,
// oldest first.
func (g *seedGen) draftRPs(plan *seedPlan, k int) [13]rpDraft {
	r := g.r
	window := int64(1095)
	if plan.del > 0 && plan.del < window {
		window = plan.del
	}
	// The newest possible backup: today's window if it is 12 h old, else
	// yesterday's.
	base := g.now - g.now%day + plan.hour*3600
	if base > g.now-12*3600 {
		base -= day
	}
	var drafts [13]rpDraft
	for i := 0; i < k; i++ {
		status := statusCompleted
		d := r.Int64N(max(window-1, 1))
		switch u := r.IntN(1000); {
		case u < 15:
			status = statusPartial
		case u < 25:
			status = statusExpired
			// Past retention, unless that is older than the ~3 years
			// the seed spans.
			if plan.del > 0 && plan.del < window+30 {
				d = plan.del + 1 + r.Int64N(60)
			}
		case u < 35:
			status = statusDeleting
			if plan.del > 0 && plan.del <= window {
				d = plan.del
			}
		}
		drafts[i] = rpDraft{t: base - d*day + r.Int64N(3600), status: status}
	}
	// Oldest first.
	for i := 1; i < k; i++ {
		for j := i; j > 0 && drafts[j].t < drafts[j-1].t; j-- {
			drafts[j], drafts[j-1] = drafts[j-1], drafts[j]
		}
	}
	return drafts
}

// duration is a backup job's run time in seconds: a few minutes to hours.
func (g *seedGen) duration(size float64) int64 {
	d := 120 + int64(size/150e6*(0.5+g.r.Float64()))
	return min(d, 10*3600+g.r.Int64N(3600))
}

// newRP returns a fresh RP with the fields shared by every RP of res.
func (g *seedGen) newRP(sv *seedVault, res *seedResource, plan *seedPlan, keyArn, keyType string) *RecoveryPoint {
	if len(g.rpBuf) == 0 {
		g.rpBuf = make([]RecoveryPoint, 4096)
	}
	rp := &g.rpBuf[0]
	g.rpBuf = g.rpBuf[1:]
	rp.VaultName = sv.v.Name
	rp.Account = SourceAccount
	rp.ResourceArn = res.arn
	rp.ResourceType = res.typ
	rp.ResourceName = res.name
	rp.BackupPlanId = plan.id
	rp.IamRoleArn = defaultBackupRole
	rp.EncryptionKeyArn = keyArn
	rp.EncryptionKeyType = keyType
	rp.IsEncrypted = true
	return rp
}

// addContinuous adds the continuous (point-in-time) RP of res.
func (g *seedGen) addContinuous(sv *seedVault, res *seedResource, plan *seedPlan, keyArn, keyType string) {
	r := g.r
	rp := g.newRP(sv, res, plan, keyArn, keyType)
	rp.Continuous = true
	rp.Status = statusCompleted
	start := g.now - (1+r.Int64N(34))*day - r.Int64N(day)
	rp.CreationDate = time.Unix(start, 0).UTC()
	rp.CompletionDate = time.Unix(start+300+r.Int64N(1800), 0).UTC()
	rp.BackupSizeInBytes = int64(res.size * (1 + 0.1*r.Float64()))
	rp.Lifecycle.DeleteAfterDays = g.int64p(35)
	b := append(g.buf[:0], "arn:aws:backup:"+g.region+":"+SourceAccount+":recovery-point:continuous:"...)
	if res.typ == TypeRDS {
		b = append(b, "db-"...)
		for range 26 {
			b = append(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r.IntN(36)])
		}
	} else {
		b = append(b, res.name...)
	}
	b = append(b, '-')
	b = g.hex(b, 8)
	g.buf = b
	rp.Arn = g.str(b)
	g.w.addRP(rp)
}

// ensureCoverage makes sure small worlds still show every status and a
// cold RP. For a few thousand RPs and more, chance has done it already.
func (g *seedGen) ensureCoverage() {
	var all []*RecoveryPoint
	a := g.w.accounts[SourceAccount]
	for _, name := range a.vaultOrder {
		all = append(all, a.vaults[name].rps...)
	}
	if len(all) < 8 {
		return
	}
	has := func(f func(*RecoveryPoint) bool) bool {
		for _, rp := range all {
			if f(rp) {
				return true
			}
		}
		return false
	}
	plain := func(rp *RecoveryPoint) bool {
		return rp.Status == statusCompleted && !rp.Continuous && !rp.Cold
	}
	if !has(func(rp *RecoveryPoint) bool { return rp.Cold }) {
		for _, rp := range all {
			if plain(rp) && coldCapable(rp.ResourceType) && !a.vaults[rp.VaultName].Locked {
				t := time.Unix(g.now-200*day, 0).UTC()
				rp.CompletionDate = t.Add(rp.CompletionDate.Sub(rp.CreationDate))
				rp.CreationDate = t
				rp.Lifecycle.DeleteAfterDays = g.int64p(365)
				rp.Lifecycle.MoveToColdStorageAfterDays = g.int64p(90)
				rp.Cold = true
				break
			}
		}
	}
	for _, st := range []string{statusPartial, statusExpired, statusDeleting} {
		if has(func(rp *RecoveryPoint) bool { return rp.Status == st }) {
			continue
		}
		// Take a plain RP from the middle so the fix does not always
		// land on the first vault's first resource.
		for i := range all {
			rp := all[(i+len(all)/2)%len(all)]
			if !plain(rp) {
				continue
			}
			rp.Status = st
			switch st {
			case statusPartial:
				rp.StatusMessage = msgPartial
			case statusExpired:
				rp.StatusMessage = msgExpired
			}
			break
		}
	}
}
